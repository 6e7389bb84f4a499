/*
 * util.c: bounded integer parsing, constant-time compare, wiping, time.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util.h"

int
util_int_parse(const char *p, size_t len, int64_t min, int64_t max,
    int64_t *out)
{
	size_t		 i = 0;
	int		 neg = 0;
	uint64_t	 v = 0, lim;

	if (len == 0 || p == NULL)
		return -1;
	if (p[0] == '-') {
		neg = 1;
		i = 1;
		if (len == 1)
			return -1;
	}
	if (p[i] == '0' && len - i > 1)
		return -1;
	/* The magnitude bound for this sign. */
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v > (lim - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (neg && v == 0)
		return -1;	/* "-0" */
	if (neg) {
		if (v == (uint64_t)INT64_MAX + 1) {
			if (min != INT64_MIN)
				return -1;
			*out = INT64_MIN;
			return 0;
		}
		if (-(int64_t)v < min)
			return -1;
		*out = -(int64_t)v;
		return 0;
	}
	if ((int64_t)v > max || (int64_t)v < min)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int
util_int_parse_str(const char *s, int64_t min, int64_t max, int64_t *out)
{
	return util_int_parse(s, s ? strlen(s) : 0, min, max, out);
}

int
util_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const volatile unsigned char	*x = a, *y = b;
	unsigned char			 d = 0;
	size_t				 i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

void
util_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		explicit_bzero(p, len);
}

int
util_random(void *p, size_t len)
{
	unsigned char	*c = p;
	ssize_t		 n;

	while (len > 0) {
		n = getrandom(c, len > 256 ? 256 : len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int64_t
util_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
util_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
util_iso_time(int64_t ms, char out[UTIL_ISO_LEN])
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;
	int		frac = (int)(ms % 1000);

	if (frac < 0) {
		frac += 1000;
		t -= 1;
	}
	gmtime_r(&t, &tm);
	snprintf(out, UTIL_ISO_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, frac);
}

static int
util_digits(const char *s, size_t n, int *out)
{
	size_t	i;
	int	v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
util_iso_parse(const char *s, size_t len, int64_t *ms)
{
	struct tm	tm;
	int		y, mo, d, h, mi, sec, frac = 0, fd = 0;
	size_t		i = 19;

	if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (util_digits(s, 4, &y) || util_digits(s + 5, 2, &mo) ||
	    util_digits(s + 8, 2, &d) || util_digits(s + 11, 2, &h) ||
	    util_digits(s + 14, 2, &mi) || util_digits(s + 17, 2, &sec))
		return -1;
	if (s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, fd++)
			if (fd < 3)
				frac = frac * 10 + (s[i] - '0');
		for (; fd < 3; fd++)
			frac *= 10;
	}
	if (!(len - i == 1 && s[i] == 'Z') &&
	    !(len - i == 6 && memcmp(s + i, "+00:00", 6) == 0))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*ms = (int64_t)timegm(&tm) * 1000 + frac;
	return 0;
}
