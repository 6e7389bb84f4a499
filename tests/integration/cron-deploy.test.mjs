// cron-deploy.test.mjs: the schedules of the cron helpers match their
// command lines.  Every pds-ddns / pds-backup / pds-maintain invocation in
// conf/crontab, conf/systemd/pds-{ddns,backup,maintain}.service and
// contrib/kubernetes/cronjob-*.yaml is run against a scratch data
// directory (the program path and /pds/pds.env swapped for test ones,
// every swap asserted); the units pass `systemd-analyze verify`; the
// Kubernetes example renders with `kubectl kustomize` and keeps the
// properties the home-hosting seed relies on.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDataDir } from '../lib/fake-pds-data.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const BIN = path.join(process.env.PDS_BIN_DIR || root, 'cron');
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const haveYaml = spawnSync('python3', ['-c', 'import yaml']).status === 0;

let tmp, envFile, data;

function sh(cmd, env = {}) {
  return new Promise((resolve) => {
    const p = spawn('sh', ['-c', cmd], { env: { PATH: `${BIN}:${process.env.PATH}`, HOME: tmp, ...env },
      stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('close', (code) => resolve({ code, out }));
  });
}

// What each helper's invocation must achieve here: pds-ddns cannot reach
// the internet, so it must get as far as the IP lookup (exit 3, DNS never
// touched); the others must succeed.
const extra = { 'pds-ddns': ' --ip-url http://127.0.0.1:9/ip --lock ' };
const want = { 'pds-ddns': 3, 'pds-backup': 0, 'pds-maintain': 0 };

function localize(cmd, what) {
  const n = cmd.split('/pds/pds.env').length - 1;
  assert.ok(n <= 1, `${what}: /pds/pds.env at most once`);
  let c = cmd.replace('/pds/pds.env', envFile).replace(/\/usr\/local\/sbin\//g, '');
  const prog = /(pds-ddns|pds-backup|pds-maintain)/.exec(c)[1];
  if (extra[prog]) c += extra[prog] + path.join(tmp, 'ddns.lock');
  return { prog, cmd: c };
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cron-deploy-'));
  data = createDataDir(path.join(tmp, 'data'), ['did:plc:aaaaaaaaaaaaaaaaaaaaaaaa']);
  envFile = path.join(tmp, 'pds.env');
  fs.writeFileSync(envFile, [
    'PDS_HOSTNAME=pds.example.com',
    `PDS_DATA_DIRECTORY=${data.root}`,
    `PDS_BLOBSTORE_DISK_LOCATION=${data.blocks}`,
    `PDS_BACKUP_DIRECTORY=${tmp}/backups`,
    'PDS_SEQ_RETENTION_DAYS=30',
    '',
  ].join('\n'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('schedules run the helpers as they are', () => {
  test('conf/crontab: every 5 minutes, hourly, daily; quiet when all is well', async () => {
    const lines = fs.readFileSync(path.join(root, 'conf/crontab'), 'utf8').split('\n')
      .filter((l) => /pds-(ddns|backup|maintain)/.test(l) && !l.startsWith('#'));
    const seen = {};
    for (const l of lines) {
      const f = l.split(/\s+/);
      assert.equal(f[5], 'pds', l);
      const { prog, cmd } = localize(f.slice(6).join(' '), l);
      seen[prog] = f.slice(0, 5).join(' ');
      const r = await sh(cmd, { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' });
      assert.equal(r.code, want[prog], `${cmd}\n${r.out}`);
      if (want[prog] === 0) assert.equal(r.out, '', `LOG_LEVEL=warn: a good run is silent: ${r.out}`);
    }
    assert.match(seen['pds-ddns'], /^\*\/5 \* \* \* \*$/);
    assert.match(seen['pds-backup'], /^\d+ \* \* \* \*$/);
    assert.match(seen['pds-maintain'], /^\d+ \d+ \* \* \*$/);
  });

  test('conf/systemd units: ExecStart runs; systemd-analyze verify passes', async () => {
    const units = ['pds-ddns', 'pds-backup', 'pds-maintain'];
    const dir = fs.mkdtempSync(path.join(tmp, 'units-'));
    for (const u of units) {
      const svc = fs.readFileSync(path.join(root, `conf/systemd/${u}.service`), 'utf8');
      const exec = /^ExecStart=(.*)$/m.exec(svc)[1];
      assert.ok(exec.startsWith(`/usr/local/sbin/${u} `), exec);
      for (const d of ['Type=oneshot', 'User=pds', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/pds'])
        assert.ok(svc.includes(d), `${u}: ${d}`);
      const { prog, cmd } = localize(exec, u);
      const r = await sh(cmd, { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' });
      assert.equal(r.code, want[prog], `${cmd}\n${r.out}`);
      const tmr = fs.readFileSync(path.join(root, `conf/systemd/${u}.timer`), 'utf8');
      assert.match(tmr, /WantedBy=timers\.target/);
      fs.writeFileSync(path.join(dir, `${u}.service`), svc.replace(/\/usr\/local\/sbin\/pds-\w+/, '/bin/true'));
      fs.writeFileSync(path.join(dir, `${u}.timer`), tmr);
    }
    assert.match(fs.readFileSync(path.join(root, 'conf/systemd/pds-ddns.timer'), 'utf8'), /OnUnitActiveSec=5min/);
    assert.match(fs.readFileSync(path.join(root, 'conf/systemd/pds-backup.timer'), 'utf8'), /OnCalendar=\*-\*-\* \*:\d\d:00/);
    assert.match(fs.readFileSync(path.join(root, 'conf/systemd/pds-maintain.timer'), 'utf8'), /OnCalendar=\*-\*-\* \d\d:\d\d:00/);
    if (!have('systemd-analyze')) return;
    const files = units.flatMap((u) => [`${u}.service`, `${u}.timer`]).map((f) => path.join(dir, f));
    const v = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8', cwd: dir });
    const ours = (v.stderr || '').split('\n').filter((l) => /pds-(ddns|backup|maintain)/.test(l));
    assert.deepEqual(ours, [], v.stderr);
  });

  test('contrib/kubernetes: renders; Recreate, PVC, CronJobs that run', { skip: !(have('kubectl') && haveYaml) && 'needs kubectl and python3-yaml' }, async () => {
    const k = spawnSync('kubectl', ['kustomize', path.join(root, 'contrib/kubernetes')], { encoding: 'utf8' });
    assert.equal(k.status, 0, k.stderr);
    const j = spawnSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))'],
      { input: k.stdout, encoding: 'utf8' });
    assert.equal(j.status, 0, j.stderr);
    const docs = JSON.parse(j.stdout);
    const get = (kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name);
    const dep = get('Deployment', 'pds');
    assert.equal(dep.spec.strategy.type, 'Recreate');
    assert.equal(dep.spec.replicas, 1);
    assert.ok(dep.spec.template.spec.volumes.some((v) => v.persistentVolumeClaim?.claimName === 'pds-data'));
    assert.ok(get('PersistentVolumeClaim', 'pds-data'));
    assert.ok(get('Service', 'pds'));
    assert.ok(get('ConfigMap', 'pds-env'));
    const sched = { 'pds-ddns': /^\*\/5 \* \* \* \*$/, 'pds-backup': /^\d+ \* \* \* \*$/, 'pds-maintain': /^\d+ \d+ \* \* \*$/ };
    for (const name of Object.keys(sched)) {
      const cj = get('CronJob', name);
      assert.match(cj.spec.schedule, sched[name]);
      assert.equal(cj.spec.concurrencyPolicy, 'Forbid');
      const pod = cj.spec.jobTemplate.spec.template.spec;
      const c = pod.containers[0];
      if (name !== 'pds-ddns') {
        assert.equal(pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey,
          'kubernetes.io/hostname', `${name} follows the PDS pod to its node`);
        assert.ok(pod.volumes.some((v) => v.persistentVolumeClaim?.claimName === 'pds-data'));
      }
      // The container runs the program with the ConfigMap as environment.
      const cm = get('ConfigMap', 'pds-env').data;
      const env = { ...cm, PDS_DATA_DIRECTORY: data.root, PDS_BLOBSTORE_DISK_LOCATION: data.blocks,
        PDS_BACKUP_DIRECTORY: path.join(tmp, 'k8s-backups'), PDS_BACKUP_REMOTES: '',
        AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
      const args = (c.args || []).map((a) => a.replace('/tmp/pds-ddns.lock', path.join(tmp, 'k8s-ddns.lock')));
      let cmd = [c.command[0].replace('/usr/local/sbin/', ''), ...args].join(' ');
      if (name === 'pds-ddns') cmd += ' --ip-url http://127.0.0.1:9/ip';
      const r = await sh(cmd, env);
      assert.equal(r.code, want[name], `${cmd}\n${r.out}`);
    }
  });
});
