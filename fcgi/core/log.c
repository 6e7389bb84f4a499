/*
 * log.c: stderr logging with ISO timestamps.  See log.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_prog = "pds";
static enum log_level	 log_min = LOG_LVL_INFO;

static const char *const log_names[LOG_LVL__MAX] = {
	"debug",	/* LOG_LVL_DEBUG */
	"info",		/* LOG_LVL_INFO */
	"warn",		/* LOG_LVL_WARN */
	"error",	/* LOG_LVL_ERROR */
};

void
log_init(const char *prog, enum log_level min)
{
	const char	*e;
	int		 i;

	log_prog = prog;
	log_min = min;
	if ((e = getenv("LOG_LEVEL")) != NULL)
		for (i = 0; i < LOG_LVL__MAX; i++)
			if (strcmp(e, log_names[i]) == 0)
				log_min = (enum log_level)i;
}

void
log_set_level(enum log_level min)
{
	log_min = min;
}

static void __attribute__((format(printf, 2, 0)))
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	char		 line[2048], ts[32];
	struct timeval	 tv;
	struct tm	 tm;
	int		 n, m;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s[%ld]: ", ts,
	    (long)(tv.tv_usec / 1000), log_names[lvl], log_prog,
	    (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write(2) per line so lines from workers do not interleave. */
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list	ap;

	if (lvl < log_min || lvl >= LOG_LVL__MAX)
		return;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_escape(char *out, size_t outsz, const void *p, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*s = p;
	size_t			 i, o = 0;

	if (outsz == 0)
		return;
	for (i = 0; i < len; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)s[i];
		} else {
			if (o + 4 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[s[i] >> 4];
			out[o++] = hex[s[i] & 15];
		}
	}
	out[o] = '\0';
}
