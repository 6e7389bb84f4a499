/*
 * fuzz_backup.c: libFuzzer target for pds-backup's parsers of untrusted
 * text: a snapshot MANIFEST (cron/manifest.c; a MANIFEST fetched back from
 * a remote is untrusted), rclone's JSON log (cron/rclone.c), snapshot
 * names and MANIFEST paths.  The cron sources are compiled into this
 * target (they are not in the core archive).
 */
#include <stdint.h>
#include <string.h>

#include "../../cron/common.c"
#include "../../cron/files.c"
#include "../../cron/manifest.c"
#include "../../cron/rclone.c"
#include "../../cron/retention.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bk_manifest	 m;
	struct bk_rclone_stats	 st;
	struct buf		 b;
	const char		*p = (const char *)data;
	char			 err[160], name[32], out[LIM_CRON_PATH];
	size_t			 i;
	int			 k;

	if (bk_manifest_parse(p, size, &m, err, sizeof(err)) == 0) {
		/* Whatever parses must write back and parse again. */
		buf_init(&b, LIM_BK_MANIFEST);
		if (bk_manifest_write(&b, &m, "x", NULL) == 0) {
			struct bk_manifest m2;

			if (bk_manifest_parse((const char *)b.data, b.len, &m2,
			    err, sizeof(err)) != 0 || m2.n != m.n)
				__builtin_trap();
			bk_manifest_free(&m2);
		}
		buf_free(&b);
		for (i = 0; i < m.n; i++)
			if (bk_entry_file("/s/snapshots/x", &m.v[i], out) == 0 &&
			    strstr(out, "/../../") != NULL &&
			    m.v[i].kind != BK_BLOB)
				__builtin_trap();
		bk_manifest_free(&m);
	}
	memset(&st, 0, sizeof(st));
	(void)bk_rclone_parse(p, size, &st, err, sizeof(err));
	for (k = 0; k < BK__MAX; k++)
		(void)bk_path_ok(p, size, (enum bk_kind)k);
	if (size < sizeof(name)) {
		memcpy(name, p, size);
		name[size] = '\0';
		(void)bk_snapshot_name_ok(name);
		(void)bk_remote_ok(name);
	}
	return 0;
}
