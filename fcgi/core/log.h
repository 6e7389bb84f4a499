/*
 * log.h: one logging convention for every program (STYLE.md 6.3).
 *
 * Lines go to stderr (journald / the web server's error log collects them):
 * "<ISO time> <level> <prog>[pid]: <message>".  Log once, where the error
 * is detected, with __func__.  Never pass a secret (token, password, key)
 * to these functions; log_escape() makes hostile bytes printable.
 */
#ifndef PDS_LOG_H
#define PDS_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR,
    LOG_LVL__MAX };

/* Sets the program name shown in each line (not copied: keep it alive)
 * and the minimum level.  LOG_LEVEL (debug|info|warn|error) sets it too. */
void	log_init(const char *prog, enum log_level min);
void	log_set_level(enum log_level min);
void	log_msg(enum log_level lvl, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Logs and exits 1: for unrecoverable process-level failures. */
void	log_fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/* Writes a printable, truncated copy of (p, len) into out (size outsz,
 * NUL-terminated): non-printable bytes as \xNN, at most outsz-1 chars. */
void	log_escape(char *out, size_t outsz, const void *p, size_t len);

#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...)	log_msg(LOG_LVL_ERROR, __VA_ARGS__)

#endif
