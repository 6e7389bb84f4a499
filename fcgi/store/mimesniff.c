/*
 * mimesniff.c: magic-number MIME detection.  See mimesniff.h.
 *
 * The names are those file-type (sindresorhus/file-type, which the
 * reference uses) reports for the same signatures.
 */
#include <string.h>

#include "mimesniff.h"
#include "pds_limits.h"

/* (p, len) has the bytes m (mlen) at offset off. */
static int
at(const uint8_t *p, size_t len, size_t off, const void *m, size_t mlen)
{
	return off <= len && mlen <= len - off && memcmp(p + off, m, mlen) == 0;
}

#define AT(off, s)	at(p, len, (off), (s), sizeof(s) - 1)

/* ISO base media (MP4, QuickTime, HEIF, AVIF): brand at offset 8. */
static const char *
sniff_ftyp(const uint8_t *p, size_t len)
{
	static const struct {
		const char	*brand;
		const char	*mime;
	} brands[] = {
		{ "avif", "image/avif" }, { "avis", "image/avif" },
		{ "mif1", "image/heif" }, { "msf1", "image/heif-sequence" },
		{ "heic", "image/heic" }, { "heix", "image/heic" },
		{ "hevc", "image/heic-sequence" },
		{ "hevx", "image/heic-sequence" },
		{ "qt  ", "video/quicktime" }, { "M4V ", "video/x-m4v" },
		{ "M4VH", "video/x-m4v" }, { "M4VP", "video/x-m4v" },
		{ "M4A ", "audio/x-m4a" }, { "M4B ", "audio/mp4" },
		{ "M4P ", "video/mp4" }, { "F4V ", "video/mp4" },
		{ "3g2", "video/3gpp2" }, { "3gp", "video/3gpp" },
	};
	size_t	i;

	if (!AT(4, "ftyp") || len < 12)
		return NULL;
	for (i = 0; i < sizeof(brands) / sizeof(brands[0]); i++)
		if (at(p, len, 8, brands[i].brand, strlen(brands[i].brand)))
			return brands[i].mime;
	return "video/mp4";
}

/* Matroska / WebM: the EBML DocType string near the start. */
static const char *
sniff_ebml(const uint8_t *p, size_t len)
{
	size_t	i, n = len < 64 ? len : 64;

	for (i = 0; i + 4 <= n; i++)
		if (memcmp(p + i, "webm", 4) == 0)
			return "video/webm";
	return "video/x-matroska";
}

static const char *
sniff_riff(const uint8_t *p, size_t len)
{
	if (AT(8, "WEBP"))
		return "image/webp";
	if (AT(8, "WAVE"))
		return "audio/wav";
	if (AT(8, "AVI "))
		return "video/vnd.avi";
	return NULL;
}

static const char *
sniff_ogg(const uint8_t *p, size_t len)
{
	if (AT(28, "OpusHead"))
		return "audio/opus";
	if (AT(28, "\x80theora"))
		return "video/ogg";
	if (AT(28, "\x01video\0"))
		return "video/ogg";
	if (AT(28, "\x01vorbis"))
		return "audio/ogg";
	if (AT(28, "Speex  "))
		return "audio/ogg";
	return "application/ogg";
}

/* MPEG audio frame sync without an ID3 tag. */
static int
mpeg_audio(const uint8_t *p, size_t len)
{
	return len >= 2 && p[0] == 0xff && (p[1] & 0xe0) == 0xe0 &&
	    (p[1] & 0x06) != 0 && (p[1] & 0x18) != 0x08;
}

const char *
mime_sniff(const uint8_t *p, size_t len)
{
	if (len > LIM_BLOB_SNIFF)
		len = LIM_BLOB_SNIFF;
	if (AT(0, "\xff\xd8\xff"))
		return "image/jpeg";
	if (AT(0, "\x89PNG\r\n\x1a\n"))
		return "image/png";
	if (AT(0, "GIF87a") || AT(0, "GIF89a"))
		return "image/gif";
	if (AT(0, "RIFF"))
		return sniff_riff(p, len);
	if (AT(0, "\xff\x0a") ||
	    AT(0, "\x00\x00\x00\x0cJXL \x0d\x0a\x87\x0a"))
		return "image/jxl";
	if (len >= 12 && AT(4, "ftyp"))
		return sniff_ftyp(p, len);
	if (AT(0, "\x1a\x45\xdf\xa3"))
		return sniff_ebml(p, len);
	if (AT(0, "II*\0") || AT(0, "MM\0*"))
		return "image/tiff";
	if (AT(0, "BM") && len >= 14)
		return "image/bmp";
	if (AT(0, "\0\0\1\0") && len >= 6)
		return "image/x-icon";
	if (AT(0, "%PDF"))
		return "application/pdf";
	if (AT(0, "PK\3\4"))
		return "application/zip";
	if (AT(0, "\x1f\x8b\x08"))
		return "application/gzip";
	if (AT(0, "OggS"))
		return sniff_ogg(p, len);
	if (AT(0, "fLaC"))
		return "audio/x-flac";
	if (AT(0, "ID3") || mpeg_audio(p, len))
		return "audio/mpeg";
	return NULL;
}

/* RFC 6838 restricted-name characters. */
static int
mime_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$&-^_.+", c) != NULL);
}

int
mime_validate(const char *p, size_t len)
{
	size_t	i = 0, n;

	if (len == 0 || len > LIM_MIME_LEN)
		return -1;
	for (n = 0; i < len && mime_tchar((unsigned char)p[i]); i++)
		n++;
	if (n == 0 || i >= len || p[i++] != '/')
		return -1;
	for (n = 0; i < len && mime_tchar((unsigned char)p[i]); i++)
		n++;
	if (n == 0)
		return -1;
	for (; i < len; i++)	/* parameters: printable ASCII */
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return -1;
	return 0;
}
