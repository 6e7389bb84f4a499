/*
 * mimesniff.h: the MIME type of an uploaded blob, from its first bytes,
 * as the reference's uploadBlob does with the file-type package
 * (actor-store/blob/transactor.ts mimeTypeFromStream; reference-pds.md e
 * "Blobs": sniffed type first, then the request's Content-Type, then
 * application/octet-stream).
 *
 * Covers the magic numbers of the images, video and audio that atproto
 * clients upload, plus PDF and common archives, with file-type's names
 * for them.  Text formats are not sniffed (file-type does not either).
 * Pure; no allocation.
 */
#ifndef PDS_MIMESNIFF_H
#define PDS_MIMESNIFF_H

#include <stddef.h>
#include <stdint.h>

/* The MIME type (static string) of a file starting with (p, len) (at
 * most LIM_BLOB_SNIFF bytes are looked at), or NULL when unknown. */
const char	*mime_sniff(const uint8_t *p, size_t len);

/* Checks a MIME type taken from a request (Content-Type) or a record:
 * type "/" subtype of RFC 6838 token characters, optional parameters of
 * printable ASCII, at most LIM_MIME_LEN bytes.  Returns 0 or -1. */
int		 mime_validate(const char *p, size_t len);

#endif /* PDS_MIMESNIFF_H */
