/*
 * dnsname.c: the DNS names pds-ddns keeps up to date: checking and
 * normalising what the operator gives (RFC 1035 section 2.3.1 LDH
 * labels, RFC 4592 wildcard as the leftmost label), and reading names as
 * Route53 prints them (RFC 1035 section 5.1 \DDD escapes, which Route53
 * writes in octal: '*' is \052).  Pure functions.
 */
#include <string.h>

#include "cron.h"

static int
dnsname_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int
ddns_name_norm(const char *s, size_t len, char *out)
{
	size_t	i, lab = 0;
	char	c;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > LIM_DDNS_NAME_LEN)
		return -1;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '*') {
			/* Only as the whole leftmost label. */
			if (i != 0 || len < 3 || s[1] != '.')
				return -1;
			out[i] = c;
			lab = 1;
			continue;
		}
		if (c == '.') {
			if (lab == 0 || s[i - 1] == '-')
				return -1;
			lab = 0;
			out[i] = c;
			continue;
		}
		if (!dnsname_ldh(c) || (lab == 0 && c == '-') || ++lab > 63)
			return -1;
		out[i] = c;
	}
	if (lab == 0 || out[len - 1] == '-')
		return -1;
	out[len] = '\0';
	/* A name needs a dot: a bare label is no public DNS name. */
	return memchr(out, '.', len) != NULL ? 0 : -1;
}

int
ddns_name_unescape(const char *s, size_t len, char *out)
{
	size_t	i, o = 0;
	int	v, k;
	char	c;

	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '\\') {
			if (len - i < 4)
				return -1;
			for (v = 0, k = 1; k <= 3; k++) {
				if (s[i + k] < '0' || s[i + k] > '7')
					return -1;
				v = v * 8 + (s[i + k] - '0');
			}
			if (v == 0 || v > 0x7e)
				return -1;
			c = (char)v;
			i += 3;
		} else if ((unsigned char)c < 0x21 || (unsigned char)c > 0x7e) {
			return -1;
		}
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (o >= LIM_DDNS_NAME_LEN + 1)
			return -1;
		out[o++] = c;
	}
	if (o > 0 && out[o - 1] == '.')
		o--;
	if (o == 0 || o > LIM_DDNS_NAME_LEN)
		return -1;
	out[o] = '\0';
	return 0;
}

int
ddns_name_in_zone(const char *name, const char *zone)
{
	size_t	nl = strlen(name), zl = strlen(zone);

	if (nl == zl)
		return strcmp(name, zone) == 0;
	return nl > zl && name[nl - zl - 1] == '.' &&
	    strcmp(name + nl - zl, zone) == 0;
}
