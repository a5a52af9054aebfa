import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Cluster } from '../support/cluster';
import { EsxiHost } from '../support/esxi/host';
import { esxiHostConfig } from '../support/installed';
import { ensureBundle } from '../support/bundle';
jest.setTimeout(200_000);
test('debug', async () => {
  ensureBundle();
  const cluster = await Cluster.up({ flavour: 'esxi' });
  const host = new EsxiHost(cluster, { profile: 'strict', config: esxiHostConfig({ log: { level: 'debug' } }) });
  try {
    const r = await host.install();
    console.log('install', r.status, r.stdout.slice(-500), r.stderr.slice(-500));
    await new Promise((res) => setTimeout(res, 75_000));
    console.log('TAB', readFileSync(host.at('/var/spool/cron/crontabs/root'), 'utf8'));
    console.log('RUN', readdirSync(host.at('/var/run/reroute')).join(' '));
    const logp = host.at('/scratch/log/scvm_failure.log');
    console.log('LOG', existsSync(logp) ? readFileSync(logp, 'utf8').slice(-3000) : 'none');
    console.log('PS', spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(host.root.root) || l.includes('reroute') || l.includes('crond')).join('\n').slice(0, 3000));
    for (const f of readdirSync(host.at('/var/log'))) console.log('VARLOG', f, readFileSync(host.at('/var/log/' + f), 'utf8').slice(-1500));
  } finally {
    host.cleanup();
    cluster.down();
  }
});
