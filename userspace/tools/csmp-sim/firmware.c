// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The OpenCSMP agent's firmware behaviour (csmp-firmware.md; the Linux
 * sample's slots): three slots, 1 RUN, 2 UPLOAD, 3 BACKUP (isDefault).
 *
 *  - TransferRequest (65) is judged in the agent's order: hwInfo.hwId
 *    missing -> 1, fileHash not 32 bytes -> 6, fileSize 0 or above the
 *    slot (--fw-slot-size) -> 4, blockSize 0, above 1024 or below
 *    fileSize/1024 -> 7, a load pending on UPLOAD -> 8, the hash already
 *    in UPLOAD -> 11, RUN -> 12, BACKUP -> 13; else the UPLOAD slot is
 *    wiped and a download starts. The Linux agent answers nothing either
 *    way (its refusals never set has_response, derived from the sample):
 *    only GET /c/65 (the request echoed while downloading, 4.03
 *    otherwise) and GET 75 tell. --fw-transfer-response sends the
 *    draft's TransferResponse (71) {fileHash, response} instead.
 *  - ImageBlock (67): a hash prefix of 4..32 bytes must match UPLOAD and
 *    the data fit the block size, else the block is dropped unseen; a
 *    block not yet received is written at blockNum x blockSize if it ends
 *    strictly inside the slot (the agent's test) and its bit set; a block
 *    already received, once every bit is set, completes the upload (the
 *    completion quirk, issue #35). The bytes are kept so that completion
 *    can check their SHA-256 against fileHash, which the agent never does:
 *    the sim counts it (content_ok / content_bad) so a head-end test sees
 *    whether it sent the right bytes.
 *  - LoadRequest (68) -> LoadResponse (72) always: hash not 32 bytes -> 6;
 *    UPLOAD's hash -> OK if complete else 2; RUN's -> 9; BACKUP's -> OK;
 *    else 3; a loadTime in the past or 1 -> 6; 0 or absent -> the agent's
 *    MIN_LOAD_DELAY read as seconds (1000 s). At the time the slot is
 *    copied to RUN and the device reboots and registers again, its RUN
 *    entry and HardwareDesc.entPhysicalFirmwareRev showing the new image.
 *  - CancelLoadRequest (69) -> CancelLoadResponse (73), OK; a matching
 *    pending load is dropped. SetBackupRequest (70) -> SetBackupResponse
 *    (74): UPLOAD (complete, else 2) or RUN copied to BACKUP; with a load
 *    pending the sample answers 8 and retargets the load to BACKUP.
 *
 * Starting images (--fw-version V[,V...], one per device in turn) are
 * made up: hash = SHA-256("csmp-sim firmware " V). Slots live only with
 * --serve (nothing can change them otherwise); without it every device
 * shows its starting image in RUN and BACKUP and an empty UPLOAD.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "csmp.h"
#include "sim.h"

#define FW_MAX_IMGS	256		/* distinct images in the fleet */
#define FW_BITMAP_MAX	128		/* 1024 blocks */
#define FW_BLOCK_MAX	1024
#define FW_HASH_PREFIX	4		/* MIN_HASH_COMPARE_LEN */
#define FW_DEFAULT_DELAY 1000		/* loadTime 0: MIN_LOAD_DELAY in s */

#define PB(m, f, n, v)					\
	do {						\
		(m).f = (v);				\
		(m).f##_present_case = (n);		\
	} while (0)

struct fw_img {
	uint8_t hash[32];
	char name[129];
	char version[33];
	char hwid[33];
	uint32_t size, blocksize;
};

struct fw_upload {
	struct fw_img img;
	uint32_t blockcnt;
	bool complete;
	uint8_t bitmap[FW_BITMAP_MAX];	/* 1 = received, MSB of [0] = block 0 */
	uint8_t *data;			/* the slot's bytes */
};

struct fw_dev {
	uint16_t run, bak;		/* images[] */
	uint8_t load_slot;		/* CSMP_FW_SLOT_*, 0 = no load pending */
	uint32_t load_time;		/* as requested (0 = default delay) */
	uint32_t load_gen;		/* a cancelled load's event is stale */
	struct fw_upload *up;		/* NULL: the UPLOAD slot is empty */
};

struct fw_stats {
	uint64_t transfers;		/* downloads started */
	uint64_t transfer_code[14];	/* TransferRequest verdicts */
	uint64_t blocks_written;
	uint64_t blocks_again;		/* already received */
	uint64_t blocks_dropped;	/* hash, size or offset wrong */
	uint64_t uploads_complete;
	uint64_t content_ok, content_bad;
	uint64_t load_code[14];		/* LoadRequest verdicts */
	uint64_t loads_done;		/* rebooted into another image */
	uint64_t cancels, set_backups;
};

struct sim_fw {
	struct fw_img img[FW_MAX_IMGS];
	uint16_t n_img;
	uint16_t n_start;		/* img[0..n_start): --fw-version */
	struct fw_dev *dev;		/* per device, --serve only */
	struct csmp_arena arena;
	uint8_t arena_buf[8192];
	struct fw_stats st;
};

static uint16_t img_intern(struct sim_fw *f, const struct fw_img *im)
{
	for (uint16_t i = 0; i < f->n_img; i++)
		if (!memcmp(f->img[i].hash, im->hash, 32))
			return i;
	if (f->n_img == FW_MAX_IMGS)
		return 0;	/* the fleet's first image stands in */
	f->img[f->n_img] = *im;
	return f->n_img++;
}

int sim_fw_setup(struct sim *s)
{
	const char *list = s->o.fw_versions ? s->o.fw_versions : "1.0.0";
	struct sim_fw *f;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	s->fw = f;
	csmp_arena_init(&f->arena, f->arena_buf, sizeof(f->arena_buf));
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		struct fw_img im = { .size = 24114, .blocksize = 0 };
		char seed[64];

		if (!n || n >= sizeof(im.version) || f->n_img == FW_MAX_IMGS) {
			fprintf(stderr, "csmp-sim: --fw-version wants versions "
				"of 1..32 characters, comma-separated\n");
			return -EINVAL;
		}
		memcpy(im.version, p, n);
		snprintf(im.name, sizeof(im.name), "csmp-sim-node-%s.bin",
			 im.version);
		snprintf(im.hwid, sizeof(im.hwid), "%s",
			 s->o.fw_hwid ? s->o.fw_hwid : "OPENCSMP");
		snprintf(seed, sizeof(seed), "csmp-sim firmware %s", im.version);
		if (!EVP_Digest(seed, strlen(seed), im.hash, NULL, EVP_sha256(),
				NULL))
			return -ENOMEM;
		img_intern(f, &im);
		p += n;
		if (*p == ',')
			p++;
	}
	f->n_start = f->n_img;
	if (!s->o.serve)
		return 0;
	f->dev = calloc(s->o.devices, sizeof(*f->dev));
	if (!f->dev)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->o.devices; i++)
		f->dev[i].run = f->dev[i].bak = (uint16_t)(i % f->n_start);
	return 0;
}

static void upload_free(struct fw_upload *u)
{
	if (u)
		free(u->data);
	free(u);
}

void sim_fw_teardown(struct sim *s)
{
	struct sim_fw *f = s->fw;

	if (!f)
		return;
	for (uint32_t i = 0; f->dev && i < s->o.devices; i++)
		upload_free(f->dev[i].up);
	free(f->dev);
	free(f);
	s->fw = NULL;
}

static const struct fw_img *run_img(const struct sim *s, uint32_t idx)
{
	const struct sim_fw *f = s->fw;

	return &f->img[f->dev ? f->dev[idx].run : idx % f->n_start];
}

static const struct fw_img *bak_img(const struct sim *s, uint32_t idx)
{
	const struct sim_fw *f = s->fw;

	return &f->img[f->dev ? f->dev[idx].bak : idx % f->n_start];
}

const char *sim_fw_running_version(const struct sim *s, uint32_t idx)
{
	return run_img(s, idx)->version;
}

static bool bit_get(const uint8_t *bm, uint32_t b)
{
	return bm[b >> 3] & (0x80 >> (b & 7));
}

/* ---- FirmwareImageInfo (75) ---- */

static void put_slot(struct sim *s, uint32_t idx, struct csmp_tlvw *w,
		     uint32_t slot)
{
	struct fw_dev *fd = s->fw->dev ? &s->fw->dev[idx] : NULL;
	Csmp__FirmwareImageInfo m;
	Csmp__HardwareInfo hw;
	static const struct fw_img empty;
	const struct fw_img *im = &empty;
	const struct fw_upload *u = fd ? fd->up : NULL;

	protobuf_c_message_init(&csmp__firmware_image_info__descriptor, &m);
	protobuf_c_message_init(&csmp__hardware_info__descriptor, &hw);
	if (slot == CSMP_FW_SLOT_RUN)
		im = run_img(s, idx);
	else if (slot == CSMP_FW_SLOT_BACKUP)
		im = bak_img(s, idx);
	else if (u)
		im = &u->img;
	PB(m, index, 1, slot);
	PB(m, file_hash, 2, ((ProtobufCBinaryData){ .len = 32,
						    .data = (uint8_t *)im->hash }));
	PB(m, file_name, 3, (char *)im->name);
	PB(m, version, 4, (char *)im->version);
	PB(m, file_size, 5, im->size);
	PB(m, block_size, 6, im->blocksize);
	/* The bitmap only while the download is under way. */
	if (slot == CSMP_FW_SLOT_UPLOAD && u && !u->complete)
		PB(m, bitmap, 7, ((ProtobufCBinaryData){
			.len = (u->blockcnt + 7) / 8,
			.data = (uint8_t *)u->bitmap }));
	if (slot == CSMP_FW_SLOT_BACKUP)
		PB(m, is_default, 8, 1);
	if (slot == CSMP_FW_SLOT_RUN)
		PB(m, is_running, 9, 1);
	if (fd && fd->load_slot == slot && fd->load_time)
		PB(m, load_time, 10, fd->load_time);
	PB(hw, hw_id, 1, (char *)im->hwid);
	m.hw_info = &hw;
	csmp_tlvw_put(w, CSMP_TLV_FIRMWARE_IMAGE_INFO, &m.base);
}

void sim_fw_put_info(struct sim *s, uint32_t idx, struct csmp_tlvw *w,
		     uint32_t index)
{
	for (uint32_t slot = CSMP_FW_SLOT_RUN; slot <= CSMP_FW_SLOT_BACKUP; slot++)
		if (!index || index == slot)
			put_slot(s, idx, w, slot);
}

/* GET /c/65 and /c/68: -ENOENT when there is nothing (4.03 alone). */
int sim_fw_get(struct sim *s, uint32_t idx, uint32_t id, struct csmp_tlvw *w)
{
	struct fw_dev *fd = s->fw->dev ? &s->fw->dev[idx] : NULL;

	if (id == CSMP_TLV_TRANSFER_REQUEST) {
		Csmp__TransferRequest m;
		Csmp__HardwareInfo hw;
		struct fw_upload *u = fd ? fd->up : NULL;

		if (!u || u->complete)
			return -ENOENT;
		protobuf_c_message_init(&csmp__transfer_request__descriptor, &m);
		protobuf_c_message_init(&csmp__hardware_info__descriptor, &hw);
		PB(hw, hw_id, 1, u->img.hwid);
		m.hw_info = &hw;
		PB(m, file_hash, 2, ((ProtobufCBinaryData){ .len = 32,
							    .data = u->img.hash }));
		PB(m, file_name, 3, u->img.name);
		PB(m, version, 4, u->img.version);
		PB(m, file_size, 5, u->img.size);
		PB(m, block_size, 6, u->img.blocksize);
		return csmp_tlvw_put(w, id, &m.base) < 0 ? -ENOSPC : 0;
	}
	if (id == CSMP_TLV_LOAD_REQUEST) {
		Csmp__LoadRequest m;
		const uint8_t *h;

		if (!fd || !fd->load_slot)
			return -ENOENT;
		h = fd->load_slot == CSMP_FW_SLOT_UPLOAD ? fd->up->img.hash :
							   bak_img(s, idx)->hash;
		protobuf_c_message_init(&csmp__load_request__descriptor, &m);
		PB(m, file_hash, 1, ((ProtobufCBinaryData){ .len = 32,
							    .data = (uint8_t *)h }));
		PB(m, load_time, 2, fd->load_time);
		return csmp_tlvw_put(w, id, &m.base) < 0 ? -ENOSPC : 0;
	}
	return -ENOENT;
}

/* ---- POST handlers ---- */

static void put_response(struct csmp_tlvw *out, uint32_t tlv,
			 const ProtobufCBinaryData *hash, uint32_t code)
{
	Csmp__FirmwareResponse r;

	protobuf_c_message_init(&csmp__firmware_response__descriptor, &r);
	if (hash)
		PB(r, file_hash, 1, *hash);
	PB(r, response, 2, code);
	csmp_tlvw_put(out, tlv, &r.base);
}

static bool hash_is(const ProtobufCBinaryData *h, const uint8_t *want)
{
	return h->len == 32 && !memcmp(h->data, want, 32);
}

static uint32_t transfer_verdict(struct sim *s, uint32_t idx,
				 const Csmp__TransferRequest *tr)
{
	struct fw_dev *fd = &s->fw->dev[idx];
	const ProtobufCBinaryData *h = &tr->file_hash;

	/* The agent dereferences hwInfo unchecked: a real device would
	 * crash without it; the sim refuses it as missing hwId. */
	if (!tr->hw_info || !tr->hw_info->hw_id_present_case)
		return CSMP_FW_INCOMPATIBLE_HW;
	if (!tr->file_hash_present_case || h->len != 32)
		return CSMP_FW_INVALID_REQ;
	if (!tr->file_size || tr->file_size > s->o.fw_slot_size)
		return CSMP_FW_FILE_SIZE_TOO_BIG;
	if (!tr->block_size || tr->block_size > FW_BLOCK_MAX ||
	    tr->block_size < tr->file_size / 1024)
		return CSMP_FW_INVALID_BLOCK_SIZE;
	if (fd->load_slot == CSMP_FW_SLOT_UPLOAD)
		return CSMP_FW_PENDING_REBOOT;
	if (fd->up && hash_is(h, fd->up->img.hash))
		return CSMP_FW_DUP_XFER;
	if (hash_is(h, run_img(s, idx)->hash))
		return CSMP_FW_MATCH_RUN;
	if (hash_is(h, bak_img(s, idx)->hash))
		return CSMP_FW_MATCH_BAK;
	return CSMP_FW_OK;
}

static int do_transfer(struct sim *s, uint32_t idx,
		       const Csmp__TransferRequest *tr, struct csmp_tlvw *out)
{
	struct sim_fw *f = s->fw;
	struct fw_dev *fd = &f->dev[idx];
	uint32_t code = transfer_verdict(s, idx, tr);
	struct fw_upload *u;

	f->st.transfer_code[code]++;
	if (code == CSMP_FW_OK) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return -ENOMEM;
		u->data = calloc(1, s->o.fw_slot_size);
		if (!u->data) {
			free(u);
			return -ENOMEM;
		}
		memcpy(u->img.hash, tr->file_hash.data, 32);
		snprintf(u->img.name, sizeof(u->img.name), "%s",
			 tr->file_name_present_case ? tr->file_name : "");
		snprintf(u->img.version, sizeof(u->img.version), "%s",
			 tr->version_present_case ? tr->version : "");
		snprintf(u->img.hwid, sizeof(u->img.hwid), "%s",
			 tr->hw_info->hw_id);
		u->img.size = tr->file_size;
		u->img.blocksize = tr->block_size;
		u->blockcnt = (tr->file_size + tr->block_size - 1) / tr->block_size;
		/* Success wipes the UPLOAD slot: whatever was there is gone. */
		upload_free(fd->up);
		fd->up = u;
		f->st.transfers++;
	}
	if (s->o.fw_transfer_response)
		put_response(out, CSMP_TLV_TRANSFER_RESPONSE,
			     tr->file_hash_present_case ? &tr->file_hash : NULL,
			     code);
	return 0;
}

static void upload_check_complete(struct sim *s, struct fw_upload *u)
{
	struct sim_fw *f = s->fw;
	uint8_t h[32];

	for (uint32_t b = 0; b < u->blockcnt; b++)
		if (!bit_get(u->bitmap, b))
			return;
	u->complete = true;
	f->st.uploads_complete++;
	if (EVP_Digest(u->data, u->img.size, h, NULL, EVP_sha256(), NULL) &&
	    !memcmp(h, u->img.hash, 32))
		f->st.content_ok++;
	else
		f->st.content_bad++;
}

static void do_block(struct sim *s, uint32_t idx, const Csmp__ImageBlock *ib)
{
	struct sim_fw *f = s->fw;
	struct fw_upload *u = f->dev[idx].up;
	const ProtobufCBinaryData *h = &ib->file_hash;
	const ProtobufCBinaryData *d = &ib->block_data;
	uint64_t off;

	if (!u || h->len < FW_HASH_PREFIX || h->len > 32 ||
	    memcmp(h->data, u->img.hash, h->len) ||
	    d->len > u->img.blocksize || ib->block_num >= 8 * FW_BITMAP_MAX) {
		f->st.blocks_dropped++;
		return;
	}
	if (bit_get(u->bitmap, ib->block_num)) {
		/* issue #35: only a block received again completes it. */
		f->st.blocks_again++;
		if (!u->complete)
			upload_check_complete(s, u);
		return;
	}
	off = (uint64_t)ib->block_num * u->img.blocksize;
	if (off + d->len >= s->o.fw_slot_size) {
		f->st.blocks_dropped++;	/* the agent's strict end check */
		return;
	}
	memcpy(u->data + off, d->data, d->len);
	u->bitmap[ib->block_num >> 3] |= (uint8_t)(0x80 >> (ib->block_num & 7));
	f->st.blocks_written++;
}

static int do_load(struct sim *s, uint32_t idx, const Csmp__LoadRequest *lr,
		   struct csmp_tlvw *out)
{
	struct sim_fw *f = s->fw;
	struct fw_dev *fd = &f->dev[idx];
	const ProtobufCBinaryData *h = &lr->file_hash;
	uint32_t now = (uint32_t)time(NULL), lt = lr->load_time;
	uint32_t code = CSMP_FW_OK;
	Csmp__LoadResponse r;
	uint8_t slot = 0;
	uint64_t delay;

	protobuf_c_message_init(&csmp__load_response__descriptor, &r);
	if (!lr->file_hash_present_case || h->len != 32) {
		code = CSMP_FW_INVALID_REQ;
		goto respond;
	}
	PB(r, file_hash, 1, *h);
	if (fd->up && hash_is(h, fd->up->img.hash)) {
		if (!fd->up->complete)
			code = CSMP_FW_IMAGE_INCOMPLETE;
		slot = CSMP_FW_SLOT_UPLOAD;
	} else if (hash_is(h, run_img(s, idx)->hash)) {
		code = CSMP_FW_IMAGE_RUNNING;
	} else if (hash_is(h, bak_img(s, idx)->hash)) {
		slot = CSMP_FW_SLOT_BACKUP;
	} else {
		code = CSMP_FW_UNKNOWN_HASH;
	}
	if (code)
		goto respond;
	/* The same load again changes nothing. */
	if (fd->load_slot == slot && fd->load_time == lt)
		goto respond;
	/* 1 ("now" in the draft) is in the past for the agent. */
	if (lt && lt <= now) {
		code = CSMP_FW_INVALID_REQ;
		fd->load_slot = 0;
		fd->load_gen++;
		goto respond;
	}
	delay = lt ? (uint64_t)(lt - now) : FW_DEFAULT_DELAY;
	fd->load_slot = slot;
	fd->load_time = lt;
	fd->load_gen++;
	if (sim_radio_later(s, s->now + delay * NSEC_PER_SEC, idx, SIM_EV_LOAD,
			    fd->load_gen, NULL, 0))
		return -ENOMEM;
respond:
	f->st.load_code[code]++;
	PB(r, response, 2, code);
	if (code == CSMP_FW_OK)
		PB(r, load_time, 3, lt);
	csmp_tlvw_put(out, CSMP_TLV_LOAD_RESPONSE, &r.base);
	return 0;
}

/* The load's time came: copy the slot to RUN and reboot into it. */
void sim_fw_load_due(struct sim *s, uint32_t idx, uint32_t gen)
{
	struct sim_fw *f = s->fw;
	struct fw_dev *fd = &f->dev[idx];

	if (gen != fd->load_gen || !fd->load_slot)
		return;		/* cancelled or replaced */
	if (fd->load_slot == CSMP_FW_SLOT_UPLOAD && fd->up)
		fd->run = img_intern(f, &fd->up->img);
	else if (fd->load_slot == CSMP_FW_SLOT_BACKUP)
		fd->run = fd->bak;
	fd->load_slot = 0;
	fd->load_time = 0;
	f->st.loads_done++;
	sim_dev_reboot(s, idx);
}

static void do_cancel(struct sim *s, uint32_t idx,
		      const Csmp__CancelLoadRequest *cr, struct csmp_tlvw *out)
{
	struct sim_fw *f = s->fw;
	struct fw_dev *fd = &f->dev[idx];
	const ProtobufCBinaryData *h = &cr->file_hash;
	uint32_t code = CSMP_FW_OK;

	if (!cr->file_hash_present_case || h->len != 32) {
		code = CSMP_FW_INVALID_REQ;
	} else if (fd->load_slot &&
		   hash_is(h, fd->load_slot == CSMP_FW_SLOT_UPLOAD ?
			   fd->up->img.hash : bak_img(s, idx)->hash)) {
		fd->load_slot = 0;
		fd->load_time = 0;
		fd->load_gen++;
		f->st.cancels++;
	}
	put_response(out, CSMP_TLV_CANCEL_LOAD_RESPONSE,
		     code ? NULL : h, code);
}

static void do_set_backup(struct sim *s, uint32_t idx,
			  const Csmp__SetBackupRequest *br,
			  struct csmp_tlvw *out)
{
	struct sim_fw *f = s->fw;
	struct fw_dev *fd = &f->dev[idx];
	const ProtobufCBinaryData *h = &br->file_hash;
	uint32_t code = CSMP_FW_OK;
	uint16_t from = 0;

	if (!br->file_hash_present_case || h->len != 32) {
		code = CSMP_FW_INVALID_REQ;
	} else if (fd->up && hash_is(h, fd->up->img.hash)) {
		if (!fd->up->complete)
			code = CSMP_FW_IMAGE_INCOMPLETE;
		else
			from = img_intern(f, &fd->up->img);
	} else if (hash_is(h, run_img(s, idx)->hash)) {
		from = fd->run;
	} else {
		code = CSMP_FW_UNKNOWN_HASH;
	}
	if (!code && fd->load_slot) {
		/* The sample's `g_curloadslot = BACKUP_IMAGE` in a test. */
		fd->load_slot = CSMP_FW_SLOT_BACKUP;
		code = CSMP_FW_PENDING_REBOOT;
	}
	if (!code) {
		fd->bak = from;
		f->st.set_backups++;
	}
	put_response(out, CSMP_TLV_SET_BACKUP_RESPONSE, code ? NULL : h, code);
}

/*
 * A POSTed firmware TLV: 1 when handled (output in out), 0 when t is not
 * one, -errno when it cannot be read.
 */
int sim_fw_post(struct sim *s, uint32_t idx, const uint8_t *p,
		const struct csmp_tlv *t, struct csmp_tlvw *out)
{
	struct sim_fw *f = s->fw;
	ProtobufCMessage *m;
	int err = 0;

	switch (t->type) {
	case CSMP_TLV_TRANSFER_REQUEST:
	case CSMP_TLV_IMAGE_BLOCK:
	case CSMP_TLV_LOAD_REQUEST:
	case CSMP_TLV_CANCEL_LOAD_REQUEST:
	case CSMP_TLV_SET_BACKUP_REQUEST:
		break;
	default:
		return 0;
	}
	if (!f->dev)
		return -EOPNOTSUPP;
	csmp_arena_reset(&f->arena);
	if (csmp_tlv_decode(&f->arena, p, t, &m))
		return -EBADMSG;
	switch (t->type) {
	case CSMP_TLV_TRANSFER_REQUEST:
		err = do_transfer(s, idx, (const Csmp__TransferRequest *)m, out);
		break;
	case CSMP_TLV_IMAGE_BLOCK:
		do_block(s, idx, (const Csmp__ImageBlock *)m);
		break;
	case CSMP_TLV_LOAD_REQUEST:
		err = do_load(s, idx, (const Csmp__LoadRequest *)m, out);
		break;
	case CSMP_TLV_CANCEL_LOAD_REQUEST:
		do_cancel(s, idx, (const Csmp__CancelLoadRequest *)m, out);
		break;
	case CSMP_TLV_SET_BACKUP_REQUEST:
		do_set_backup(s, idx, (const Csmp__SetBackupRequest *)m, out);
		break;
	}
	return err ? err : 1;
}

static void codes_json(FILE *f, const char *name, const uint64_t *c)
{
	bool first = true;

	fprintf(f, ",\"%s\":{", name);
	for (int i = 0; i < 14; i++) {
		if (!c[i])
			continue;
		fprintf(f, "%s\"%d\":%llu", first ? "" : ",", i,
			(unsigned long long)c[i]);
		first = false;
	}
	fputc('}', f);
}

void sim_fw_json(struct sim *s, FILE *f)
{
	const struct fw_stats *st;
	uint64_t running_new = 0;

	if (!s->fw || !s->fw->dev)
		return;
	st = &s->fw->st;
	for (uint32_t i = 0; i < s->o.devices; i++)
		running_new += s->fw->dev[i].run >= s->fw->n_start;
	fprintf(f, ",\"firmware\":{\"transfers\":%llu,\"blocks_written\":%llu,"
		"\"blocks_again\":%llu,\"blocks_dropped\":%llu,"
		"\"uploads_complete\":%llu,\"content_ok\":%llu,"
		"\"content_bad\":%llu,\"loads_done\":%llu,\"cancels\":%llu,"
		"\"set_backups\":%llu,\"running_loaded_image\":%llu",
		(unsigned long long)st->transfers,
		(unsigned long long)st->blocks_written,
		(unsigned long long)st->blocks_again,
		(unsigned long long)st->blocks_dropped,
		(unsigned long long)st->uploads_complete,
		(unsigned long long)st->content_ok,
		(unsigned long long)st->content_bad,
		(unsigned long long)st->loads_done,
		(unsigned long long)st->cancels,
		(unsigned long long)st->set_backups,
		(unsigned long long)running_new);
	codes_json(f, "transfer_codes", st->transfer_code);
	codes_json(f, "load_codes", st->load_code);
	fputc('}', f);
}
