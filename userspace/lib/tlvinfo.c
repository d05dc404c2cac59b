// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The TLV id -> {name, protobuf message} table. Names are the CSMP
 * message names (the agent's and Wireshark's: CGMSSettings rather than the
 * draft's NMSSettings). Ids without a message here are still walked and
 * printed raw; adding a message to proto/csmp.proto and a line here is all
 * it takes to decode another TLV.
 */
#include <strings.h>
#include "csmp.h"

#define T(id, nm, d, f)	{ id, nm, d, f }

static const struct csmp_tlv_info tlv_table[] = {
	T(1, "TlvIndex", &csmp__tlv_index__descriptor, 0),
	T(2, "DeviceID", &csmp__device_id__descriptor, 0),
	T(6, "NMSRedirectRequest", &csmp__nmsredirect_request__descriptor, 0),
	T(7, "SessionID", &csmp__session_id__descriptor, 0),
	T(8, "DescriptionRequest", &csmp__description_request__descriptor,
	  CSMP_TLVI_SIG_EXEMPT),
	T(11, "HardwareDesc", &csmp__hardware_desc__descriptor,
	  CSMP_TLVI_TABLE),
	T(12, "InterfaceDesc", &csmp__interface_desc__descriptor,
	  CSMP_TLVI_TABLE),
	T(13, "ReportSubscribe", &csmp__report_subscribe__descriptor, 0),
	T(16, "IPAddress", &csmp__ipaddress__descriptor, CSMP_TLVI_TABLE),
	T(17, "IPRoute", &csmp__iproute__descriptor, CSMP_TLVI_TABLE),
	T(18, "CurrentTime", &csmp__current_time__descriptor, 0),
	T(21, "RPLSettings", &csmp__rplsettings__descriptor, 0),
	T(22, "Uptime", &csmp__uptime__descriptor, 0),
	T(23, "InterfaceMetrics", &csmp__interface_metrics__descriptor,
	  CSMP_TLVI_TABLE),
	T(25, "IPRouteRPLMetrics", &csmp__iproute_rplmetrics__descriptor,
	  CSMP_TLVI_TABLE),
	T(32, "RebootRequest", &csmp__reboot_request__descriptor, 0),
	T(35, "WPANStatus", &csmp__wpanstatus__descriptor, 0),
	T(42, "CGMSSettings", &csmp__cgmssettings__descriptor, 0),
	T(43, "CGMSStatus", &csmp__cgmsstatus__descriptor, 0),
	T(44, "CGMSNotification", &csmp__cgmsnotification__descriptor, 0),
	T(45, "CGMSStats", &csmp__cgmsstats__descriptor, 0),
	T(53, "RPLInstance", &csmp__rplinstance__descriptor, CSMP_TLVI_TABLE),
	T(55, "GroupAssign", &csmp__group_assign__descriptor, 0),
	T(56, "GroupEvict", &csmp__group_evict__descriptor, 0),
	T(57, "GroupMatch", &csmp__group_match__descriptor, 0),
	T(58, "GroupInfo", &csmp__group_info__descriptor, 0),
	T(65, "TransferRequest", &csmp__transfer_request__descriptor, 0),
	T(67, "ImageBlock", &csmp__image_block__descriptor,
	  CSMP_TLVI_SIG_EXEMPT),
	T(68, "LoadRequest", &csmp__load_request__descriptor, 0),
	T(69, "CancelLoadRequest", &csmp__cancel_load_request__descriptor, 0),
	T(70, "SetBackupRequest", &csmp__set_backup_request__descriptor, 0),
	T(71, "TransferResponse", &csmp__firmware_response__descriptor, 0),
	T(72, "LoadResponse", &csmp__load_response__descriptor, 0),
	T(73, "CancelLoadResponse", &csmp__firmware_response__descriptor, 0),
	T(74, "SetBackupResponse", &csmp__firmware_response__descriptor, 0),
	T(75, "FirmwareImageInfo", &csmp__firmware_image_info__descriptor,
	  CSMP_TLVI_TABLE),
	T(76, "SignatureValidity", &csmp__signature_validity__descriptor, 0),
	T(77, "Signature", &csmp__signature__descriptor, 0),
	T(79, "SignatureSettings", &csmp__signature_settings__descriptor, 0),
	T(127, "Vendor", &csmp__vendor_tlv__descriptor, 0),
};

#define N_TLVS	(sizeof(tlv_table) / sizeof(tlv_table[0]))

const struct csmp_tlv_info *csmp_tlv_info(uint32_t type)
{
	size_t lo = 0, hi = N_TLVS;

	/* The table is sorted by id (a unit test checks it). */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (tlv_table[mid].type == type)
			return &tlv_table[mid];
		if (tlv_table[mid].type < type)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct csmp_tlv_info *csmp_tlv_info_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < N_TLVS; i++)
		if (!strcasecmp(tlv_table[i].name, name))
			return &tlv_table[i];
	return NULL;
}

const struct csmp_tlv_info *csmp_tlv_info_at(size_t i)
{
	return i < N_TLVS ? &tlv_table[i] : NULL;
}

const char *csmp_tlv_name(uint32_t type)
{
	const struct csmp_tlv_info *ti = csmp_tlv_info(type);

	return ti ? ti->name : "Unknown";
}
