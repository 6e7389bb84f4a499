/*
 * tid.h: timestamp identifiers (atproto.com/specs/tid).
 *
 * A TID is a 64-bit value, top bit 0, holding 53 bits of microseconds
 * since the UNIX epoch and a 10-bit clock id, written as 13 characters of
 * base32-sortable (234567abcdefghijklmnopqrstuvwxyz), most significant
 * first, so string order is time order.  Used for record keys and commit
 * revs (reference-pds.md e).
 *
 * Generation is unique across the pre-forked worker processes of one
 * data directory and strictly increasing within each process; see
 * tid_init() and tid.c for how.
 */
#ifndef PDS_TID_H
#define PDS_TID_H

#include <stddef.h>
#include <stdint.h>

#include "pds_limits.h"

#define TID_STR_LEN	(LIM_TID_LEN + 1)	/* 13 chars + NUL */
#define TID_CLOCK_BITS	10
#define TID_CLOCK_MAX	((1u << TID_CLOCK_BITS) - 1)	/* 1023 */

/* Checks TID syntax: exactly 13 chars of the base32-sortable alphabet, the
 * first one of 234567abcdefghij (@atproto/syntax tid.ts).  Returns 0, or
 * -1 with a static reason in *why (why may be NULL).  Pure. */
int	tid_validate(const char *p, size_t len, const char **why);
/* Parses a TID string (rules of tid_validate) into *v.  Returns 0 or -1. */
int	tid_parse(const char *p, size_t len, uint64_t *v);
/* Writes v as 13 chars and a NUL into out. */
void	tid_format(uint64_t v, char out[TID_STR_LEN]);
/* Builds a TID value from microseconds (< 2^53) and clock id (<= 1023);
 * higher bits of either are dropped. */
uint64_t tid_make(uint64_t us, unsigned clock_id);
/* The microseconds and the clock id of a TID value. */
uint64_t tid_us(uint64_t v);
unsigned tid_clock_id(uint64_t v);
/* Orders two TID values (same order as their strings): <0, 0, >0. */
int	tid_cmp(uint64_t a, uint64_t b);

/* Sets up generation for this process.  state_path names a small file
 * (e.g. "<data dir>/tid.state", created 0600 if missing) that every worker
 * of this data directory maps shared; the last issued timestamp lives
 * there and is advanced with an atomic compare-and-swap, so two processes
 * never issue the same TID.  Call once in the master before forking, or
 * in each process (spawn-fcgi -F).  With state_path NULL, or if the file
 * cannot be opened or mapped, falls back to process-local state with a
 * random clock id in 32..1023 (the shared clock id is 0..31), re-drawn
 * after fork(); collisions then need the same microsecond and the same
 * 1-in-992 clock id.  Returns 0 when shared, -1 in fallback mode (logged;
 * generation still works).  Calling it again replaces the previous set-up. */
int	tid_init(const char *state_path);
/* Unmaps the shared state (generation falls back to process-local). */
void	tid_fini(void);
/* Returns 1 when generation uses the shared state: set up by tid_init()
 * in this process, or inherited from the process that forked it (the
 * MAP_SHARED mapping survives fork(), so a master's workers share it
 * without calling tid_init()); 0 in fallback mode. */
int	tid_is_shared(void);
/* Sets *out to a fresh TID value: greater than every TID this process
 * issued before and (in shared mode) than every TID any process sharing
 * the state file issued; its microseconds are the wall clock's unless
 * that would not be greater.  Works without tid_init() (fallback mode).
 * Returns 0, or -1 when the 53-bit microsecond range is used up (year
 * 2255, or a state file pushed that far by a wildly wrong clock; delete
 * it to recover). */
int	tid_next(uint64_t *out);
/* As tid_next(), written as a string into out. */
int	tid_next_str(char out[TID_STR_LEN]);
/* TID.nextStr(prev) for commit revs: sets *out to a TID greater than both
 * prev and every TID tid_next() issued before, so a repo's new rev always
 * exceeds its previous rev even if the clock went backwards.  When prev
 * is at most LIM_TID_SKEW_US ahead of the clock, the shared state is
 * advanced past it (still unique across processes); a rev further in the
 * future gets prev's microseconds + 1 with our clock id and leaves the
 * shared state alone, so one repo's far-future rev cannot drag every TID
 * forward (callers hold the repo's write lock, so no two processes extend
 * the same prev).  Returns 0, or -1 when prev is at the end of the range
 * (the reference throws there too). */
int	tid_next_after(uint64_t prev, uint64_t *out);

#endif /* PDS_TID_H */
