/*
 * util.h: small pure helpers shared by every module.
 *
 * The one bounded integer parser (STYLE.md 6.5.3), constant-time
 * comparison and secret wiping (6.4), ISO-8601 time formatting as the
 * reference writes it, and random bytes.
 */
#ifndef PDS_UTIL_H
#define PDS_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parses (p, len) as a base-10 integer in [min, max]: optional '-', then
 * digits only, no whitespace, no '+', no leading zeros except "0".
 * Returns 0 and sets *out, or -1. */
int	util_int_parse(const char *p, size_t len, int64_t min, int64_t max,
	    int64_t *out);
/* As util_int_parse() on a NUL-terminated string. */
int	util_int_parse_str(const char *s, int64_t min, int64_t max,
	    int64_t *out);
/* Compares two byte strings in time that depends only on the lengths.
 * Returns 1 when equal, 0 otherwise. */
int	util_ct_equal(const void *a, size_t alen, const void *b, size_t blen);
/* Zeroes memory in a way the compiler may not elide.  Accepts NULL. */
void	util_wipe(void *p, size_t len);
/* Fills p with len cryptographically random bytes.  Returns 0 or -1. */
int	util_random(void *p, size_t len);
/* Milliseconds since the epoch (wall clock). */
int64_t	util_now_ms(void);
/* Microseconds since the epoch (wall clock). */
int64_t	util_now_us(void);
/* Monotonic microseconds, for durations. */
int64_t	util_mono_us(void);
/* Writes ms-since-epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (JS toISOString)
 * into out, which must hold UTIL_ISO_LEN bytes. */
#define UTIL_ISO_LEN	96	/* generous: gcc sizes each %d field at 11 */
void	util_iso_time(int64_t ms, char out[UTIL_ISO_LEN]);
/* Parses a timestamp written by util_iso_time (or with fewer fraction
 * digits / a +00:00 offset) back to ms.  Returns 0 or -1. */
int	util_iso_parse(const char *s, size_t len, int64_t *ms);

#endif
