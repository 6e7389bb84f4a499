// exit-on-signal.mjs: preloaded into every benchmark by tests/bench/run.sh
// (node --import).  Node's default SIGTERM/SIGINT handling ends the process
// without running 'exit' listeners, so a benchmark stopped by run.sh's
// time limit would leave its nginx, pds-fcgi and pds-firehose process
// groups running.  Turning the signal into process.exit() runs the
// listeners that tests/lib/stack.mjs and tests/lib/firehose-client.mjs
// install to kill those groups.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.once(sig, () => {
    console.error(`bench: ${sig}, stopping (time limit or interrupt)`);
    process.exit(124);
  });
}
