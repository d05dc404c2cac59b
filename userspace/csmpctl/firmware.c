// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Firmware image store: `csmpctl firmware add FILE` checks an image
 * (libcsmp fwimage.h: the TPD header, its CRC-32, the size a device can
 * take) and stores it in csmpd's state directory under its SHA-256, the
 * fileHash every firmware TLV carries; `images` lists the store, checking
 * each file again; `remove HASH` deletes one. The store is a plain
 * directory so csmpd reads an image by hash without asking anyone:
 *
 *   /var/lib/csmpd/firmware/<64 hex digits>     0640, never rewritten
 *
 * A file appears whole or not at all: it is written to an O_EXCL temporary
 * in the same directory, fsync'ed, renamed over its final name and the
 * directory fsync'ed. Two adds of one image write the same bytes, so the
 * rename needs no lock.
 *
 * Not yet: `remove` cannot refuse while a campaign uses the image, because
 * campaigns (issue 10, csmpd's firmware module) do not exist yet; when
 * they do, remove must ask csmpd over the control socket first.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>

#include "csmpctl.h"
#include "fwimage.h"

#define FW_STORE_DEFAULT	"/var/lib/csmpd/firmware"

struct fw_args {
	const char *store;
	bool json;
};

static void fw_usage(FILE *f)
{
	fprintf(f,
"usage: csmpctl [--json] firmware add FILE [--store DIR]\n"
"       csmpctl [--json] firmware images [--store DIR]\n"
"       csmpctl firmware remove HASH [--store DIR]\n"
"\n"
"add checks FILE (256-byte header version 2, header length 256, app_len,\n"
"header CRC-32, build, hwid, at most 1 MiB) and stores it under its SHA-256\n"
"in DIR (default " FW_STORE_DEFAULT "), printing the hash; a bad\n"
"image is refused with the reason (exit 1) and nothing is stored.\n"
"--json prints {\"hash\",\"name\",\"version\",\"hwid\",\"size\"}.\n"
"images lists the stored images, checking each again. remove deletes one\n"
"(it does not yet check campaigns: they are not implemented).\n"
"\n"
"Example:\n"
"  csmpctl firmware add --store ./fw opencsmp-node-6.9.bin\n");
}

static json_t *img_json(const struct csmp_fw_image *img)
{
	char hex[CSMP_FW_HASH_STRLEN];

	return json_pack("{s:s, s:s, s:s, s:s, s:I}",
			 "hash", csmp_fw_hash_hex(img->hash, hex),
			 "name", img->name, "version", img->version,
			 "hwid", img->hwid, "size", (json_int_t)img->size);
}

static void json_print(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(j);
}

/* mkdir -p with 0750 for what it makes: the store is csmpd's, not public. */
static int mkdir_p(const char *dir)
{
	char tmp[4096];
	size_t n = strlen(dir);

	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, dir, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0750) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0750) && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

/* Store data as dir/hex; 1 when it was there already. */
static int store_put(const char *dir, const char *hex, const uint8_t *data,
		     size_t len)
{
	char tmp[4096], final[4096];
	struct stat st;
	int fd, err;

	snprintf(final, sizeof(final), "%s/%s", dir, hex);
	if (!stat(final, &st))
		return 1;	/* content-addressed: the same bytes */
	snprintf(tmp, sizeof(tmp), "%s/.%s.%d.tmp", dir, hex, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	/* The umask may have taken bits away; 0640 is the store's mode. */
	if (fchmod(fd, 0640)) {
		err = -errno;
		goto err_unlink;
	}
	err = write_all(fd, data, len);
	if (err)
		goto err_unlink;
	if (fsync(fd)) {
		err = -errno;
		goto err_unlink;
	}
	if (close(fd)) {
		fd = -1;
		err = -errno;
		goto err_unlink;
	}
	fd = -1;
	if (rename(tmp, final)) {
		err = -errno;
		goto err_unlink;
	}
	return fsync_dir(dir);
err_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return err;
}

static int fw_add(const struct fw_args *a, const char *file)
{
	char why[256], hex[CSMP_FW_HASH_STRLEN];
	struct csmp_fw_image img;
	uint8_t *data = NULL;
	int err;

	err = csmp_fw_load(file, 0, &img, &data, why, sizeof(why));
	if (err) {
		fprintf(stderr, "csmpctl firmware add: %s: refused: %s\n",
			file, why);
		return 1;
	}
	csmp_fw_hash_hex(img.hash, hex);
	err = mkdir_p(a->store);
	if (!err)
		err = store_put(a->store, hex, data, img.size);
	free(data);
	if (err < 0) {
		fprintf(stderr, "csmpctl firmware add: %s: cannot store in %s: "
			"%s\n", file, a->store, strerror(-err));
		return 1;
	}
	if (a->json)
		json_print(img_json(&img));
	else
		printf("%s\n", hex);
	if (err == 1 && !a->json)
		fprintf(stderr, "csmpctl firmware add: %s %s was stored "
			"already\n", img.name, img.version);
	return 0;
}

static bool is_hash_name(const char *s)
{
	uint8_t h[CSMP_FW_HASH_LEN];

	return !csmp_fw_hash_parse(s, h);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int fw_images(const struct fw_args *a)
{
	json_t *arr = json_array();
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int rc = 0;
	DIR *d;

	d = opendir(a->store);
	if (!d && errno != ENOENT) {
		fprintf(stderr, "csmpctl firmware images: %s: %s\n", a->store,
			strerror(errno));
		json_decref(arr);
		return 1;
	}
	while (d && (de = readdir(d))) {
		if (!is_hash_name(de->d_name))
			continue;	/* temporaries, anything else */
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 16) *
					    sizeof(*names));

			if (!nn)
				break;
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	if (d)
		closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	if (!a->json && n)
		printf("%-64s  %-20s %-12s %-12s %8s\n", "HASH", "NAME",
		       "VERSION", "HWID", "SIZE");
	for (size_t i = 0; i < n; i++) {
		char path[4096], why[256], hex[CSMP_FW_HASH_STRLEN];
		struct csmp_fw_image img;

		snprintf(path, sizeof(path), "%s/%s", a->store, names[i]);
		if (csmp_fw_load(path, 0, &img, NULL, why, sizeof(why))) {
			fprintf(stderr, "csmpctl firmware images: %s: damaged: "
				"%s\n", names[i], why);
			rc = 1;
		} else if (strcasecmp(csmp_fw_hash_hex(img.hash, hex), names[i])) {
			fprintf(stderr, "csmpctl firmware images: %s: damaged: "
				"its SHA-256 is %s\n", names[i], hex);
			rc = 1;
		} else if (a->json) {
			json_array_append_new(arr, img_json(&img));
		} else {
			printf("%-64s  %-20s %-12s %-12s %8zu\n", hex, img.name,
			       img.version, img.hwid, img.size);
		}
		free(names[i]);
	}
	free(names);
	if (a->json)
		json_print(arr);
	else
		json_decref(arr);
	return rc;
}

static int fw_remove(const struct fw_args *a, const char *hash)
{
	uint8_t h[CSMP_FW_HASH_LEN];
	char path[4096], hex[CSMP_FW_HASH_STRLEN];

	if (csmp_fw_hash_parse(hash, h)) {
		fprintf(stderr, "csmpctl firmware remove: '%s' is not a SHA-256 "
			"(64 hex digits)\n", hash);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s", a->store, csmp_fw_hash_hex(h, hex));
	if (unlink(path)) {
		fprintf(stderr, "csmpctl firmware remove: %s: %s\n", hex,
			errno == ENOENT ? "no such image in the store" :
					  strerror(errno));
		return 1;
	}
	if (fsync_dir(a->store))
		fprintf(stderr, "csmpctl firmware remove: %s: fsync: %s\n",
			a->store, strerror(errno));
	if (a->json)
		json_print(json_pack("{s:s, s:b}", "hash", hex, "removed", 1));
	return 0;
}

static int cmd_firmware(int argc, char **argv, const struct csmpctl_opts *o)
{
	static const struct option lo[] = {
		{ "store", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct fw_args a = { .store = FW_STORE_DEFAULT, .json = o->json };
	const char *sub;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 's':
			a.store = optarg;
			break;
		case 'j':
			a.json = true;
			break;
		case 'h':
			fw_usage(stdout);
			return 0;
		default:
			fw_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fw_usage(stderr);
		return 2;
	}
	sub = argv[optind++];
	if (!strcmp(sub, "add") && optind + 1 == argc)
		return fw_add(&a, argv[optind]);
	if (!strcmp(sub, "images") && optind == argc)
		return fw_images(&a);
	if (!strcmp(sub, "remove") && optind + 1 == argc)
		return fw_remove(&a, argv[optind]);
	fw_usage(stderr);
	return 2;
}

CSMPCTL_COMMAND_HELP(firmware, "firmware", "firmware add FILE|images|remove HASH",
		     "the firmware image store (--store DIR)", cmd_firmware,
		     fw_usage)
