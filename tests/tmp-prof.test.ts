import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { cliLab } from './support/cli-lab';

it('syscalls and profile of the runner', async () => {
  const lab = await cliLab({ config: { probe: {}, ...JSON.parse(process.env.CONFIG ?? '{}') } });
  try {
    const flags = (process.env.FLAGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...flags, join(__dirname, '..', 'dist', 'reroute.js'), '--config', lab.config, 'loop', '--every', '1', '--for', '45'], { env: { ...lab.host.env }, stdio: 'ignore' });
    const exit = new Promise((res) => child.on('exit', res));
    await new Promise((res) => setTimeout(res, 8000));
    const cmd = (process.env.TOOL ?? 'strace -c -f -p PID').replace('PID', String(child.pid)).split(' ');
    const tool = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
    await new Promise((res) => setTimeout(res, 20000));
    tool.kill('SIGINT');
    await new Promise((res) => tool.on('exit', res));
    await exit;
  } finally {
    await lab.close();
  }
}, 600_000);
