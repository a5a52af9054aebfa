// scripts/build-vib: dist/reroute-<version>.vib, the bundle as an ESXi VIB (community acceptance, live install).
//
// A VIB is an `ar` archive of three members, in this order: descriptor.xml (what the VIB is, its file list, and each
// payload's size and checksums), sig.pkcs7 (the signature; empty for community-supported VIBs) and the payload, a
// gzip'd tar of the files as they land on the host. The ar headers carry names without GNU ar's trailing '/', and
// mtime, uid and gid 0, as VMware's own VIBs do (ESXi's parser is strict about them).
//
// The payload: the bundle under /opt/reroute; /etc/init.d/reroute, which ESXi runs at boot (ESXi rebuilds root's
// crontab from its image at every boot; local.sh does not run under Secure Boot) and at live install, upgrade and
// removal; /etc/vmware/firewall/reroute.xml, the ruleset for the agent's outbound TCP; /etc/vmware/vm-support/reroute.mfx,
// what ESXi's support bundle collects of the agent; and the manual pages under /opt/reroute/share.
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  DEFAULT_BUNDLE_DIR,
  INSTALL_DIR,
  PackError,
  ROOT,
  checkedBundle,
  digest,
  fileDigest,
  mb,
  packageVersion,
  run,
  scriptMain,
  stageHostTree,
  walkTree,
  type HostFile,
} from './common';
import { DEFAULT_EVERY, cronShellFunctions } from './cron-shell';
import { VIB_INIT_SCRIPT } from '../../lib/install/targets';
import { shareFiles } from './man';
import { BEYOND_COMMUNITY, levelAllows } from './vib-paths';

/** The VIB's name (and its payload's: payload names stay within 8 characters, as the bootbank wants). */
export const VIB_NAME = 'reroute';
/** TCP ports the agent connects out to: the SCVM API (http, https) and NFS. */
export const FIREWALL_PORTS = [80, 443, 2049];
/** Where the init script reads its settings (persistent on ESXi, beside the config). */
export const INIT_SETTINGS = '/scratch/reroute/install.conf';
/** The agent's own default config path (lib/config/paths.ts), persistent on ESXi. */
const DEFAULT_CONFIG = '/scratch/reroute/config.json';

export interface DescriptorSpec {
  name: string;
  version: string;
  vendor: string;
  releaseDate: string;
  files: string[];
  payload: { name: string; size: number; sha256: string; gunzipSha256: string; gunzipSha1: string };
}

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * descriptor.xml. Community acceptance (unsigned); no maintenance mode; live install and removal allowed, so
 * `esxcli software vib install/update/remove` takes effect at once without a reboot. Checksums: sha-256 of the payload
 * as stored, and sha-256 and sha-1 of the tar inside it (verify-process gunzip), as ESXi 7 and 8 check them.
 */
export function descriptorXml(d: DescriptorSpec): string {
  const files = d.files.map((f) => `    <file>${xmlText(f)}</file>`).join('\n');
  return `<vib version="5.0">
  <type>bootbank</type>
  <name>${xmlText(d.name)}</name>
  <version>${xmlText(d.version)}</version>
  <vendor>${xmlText(d.vendor)}</vendor>
  <summary>reroute: I/O-reroute agent for the NFS datastore route</summary>
  <description>Moves the NFS datastore route (192.168.33.2/32) to a healthy remote storage controller VM when the local one fails, and back when it is stable. Runs from cron; brings its own Node runtime and libraries under ${INSTALL_DIR}.</description>
  <release-date>${xmlText(d.releaseDate)}</release-date>
  <urls/>
  <relationships>
    <depends/>
    <conflicts/>
    <replaces/>
    <provides/>
    <compatibleWith/>
  </relationships>
  <software-tags/>
  <system-requires>
    <maintenance-mode>false</maintenance-mode>
  </system-requires>
  <file-list>
${files}
  </file-list>
  <acceptance-level>community</acceptance-level>
  <live-install-allowed>true</live-install-allowed>
  <live-remove-allowed>true</live-remove-allowed>
  <cimom-restart>false</cimom-restart>
  <stateless-ready>true</stateless-ready>
  <overlay>false</overlay>
  <payloads>
    <payload name="${xmlText(d.payload.name)}" type="tgz" size="${d.payload.size}">
      <checksum checksum-type="sha-256">${d.payload.sha256}</checksum>
      <checksum checksum-type="sha-256" verify-process="gunzip">${d.payload.gunzipSha256}</checksum>
      <checksum checksum-type="sha-1" verify-process="gunzip">${d.payload.gunzipSha1}</checksum>
    </payload>
  </payloads>
</vib>
`;
}

/** The firewall ruleset: outbound TCP to FIREWALL_PORTS. ESXi loads /etc/vmware/firewall/*.xml on a refresh. */
export function firewallXml(): string {
  const rules = FIREWALL_PORTS.map(
    (port, i) => `    <rule id="${String(i).padStart(4, '0')}">
      <direction>outbound</direction>
      <protocol>tcp</protocol>
      <porttype>dst</porttype>
      <port>${port}</port>
    </rule>`,
  ).join('\n');
  return `<!-- reroute agent (scripts/build-vib): outbound TCP to the SCVM API (80, 443) and NFS (2049) -->
<ConfigRoot>
  <service id="0000">
    <id>reroute</id>
${rules}
    <enabled>true</enabled>
    <required>true</required>
  </service>
</ConfigRoot>
`;
}

/**
 * /etc/init.d/reroute, for busybox sh. ESXi runs it with `start` at boot, and live with `start install`,
 * `stop upgrade` then the new one's `start upgrade`, and `stop remove`: `reroute install` (cron lines, crond
 * restart; cron-shell.ts) or `reroute uninstall`. The firewall is refreshed at install and upgrade so the ruleset
 * is loaded without a reboot.
 */
export function initScript(): string {
  return `#!/bin/sh
#
# reroute: puts the reroute agent's cron lines back at boot (ESXi rebuilds root's crontab from its image) and takes
# them away when the VIB is removed. Installed by the reroute VIB (scripts/build-vib); see docs/esxi.md.
#
# chkconfig: on 99 99
# description: reroute agent (cron lines)
#
# Settings (optional) in ${INIT_SETTINGS}, one per line: every=<seconds> (default ${DEFAULT_EVERY}),
# config=<file> (default ${DEFAULT_CONFIG}), boot_probe=<file> (at boot, also write "reroute probe --json"
# there: the raw socket as the boot context sees it; docs/esxi.md, field test).

${cronShellFunctions({ settings: INIT_SETTINGS, config: DEFAULT_CONFIG })}
# A lifecycle hook (install, upgrade, remove) never fails the VIB operation: the cause goes to the syslog and the
# operator runs the step again by hand.
hook() {
  "$@" || say "$* failed (exit $?): run it again by hand; see docs/esxi.md"
  return 0
}

case "$1" in
  start)
    if [ -n "$2" ]; then
      localcli network firewall refresh >/dev/null 2>&1
      hook install_cron
    else
      install_cron
      status=$?
      if [ -n "$BOOT_PROBE" ]; then "$LAUNCHER" --config "$CONFIG" probe --json > "$BOOT_PROBE" 2>&1; fi
      exit $status
    fi
    ;;
  stop)
    # at shutdown nothing to do (the crontab goes with the reboot); before an upgrade the new VIB's start puts the
    # same lines back; only a removal takes them away
    if [ "$2" = remove ]; then hook "$LAUNCHER" uninstall; fi
    ;;
  restart)
    install_cron
    ;;
  status | probe)
    read_settings
    "$LAUNCHER" --config "$CONFIG" "$1"
    ;;
  *)
    echo "usage: $0 start|stop|restart|status|probe" >&2
    exit 1
    ;;
esac
`;
}

/** Where vm-support (ESXi's support bundle) finds what to collect of the agent's. */
export const VM_SUPPORT_MANIFEST = '/etc/vmware/vm-support/reroute.mfx';

/**
 * The vm-support manifest (the format of /etc/vmware/vm-support/README on the host): the log files, the RAM record,
 * the boot settings, and what status, doctor and config check say. Not the state file or the config: they hold the
 * API token and may hold a password, and support bundles leave the site.
 */
export function vmSupportManifest(): string {
  const bin = `${INSTALL_DIR}/bin/reroute`;
  return `# Manifest name: Reroute
# Manifest group: Storage
# Manifest default: Enabled
# action Options file/command
copy   -            /scratch/log/scvm_failure.log*
copy   -            /var/run/reroute/record.json
copy   -            ${INIT_SETTINGS}
run    TIMEOUT=30   ${bin} status --json
run    TIMEOUT=60   ${bin} doctor --json
run    TIMEOUT=30   ${bin} config check
run    TIMEOUT=10   ${bin} version --json
`;
}

/** The files the VIB adds beside the bundle; `share`: the manual pages and completion (scripts/pack/man.ts). */
export function vibHostFiles(share: Map<string, string> = new Map()): HostFile[] {
  return [
    { path: VIB_INIT_SCRIPT, text: initScript(), mode: 0o755 },
    { path: '/etc/vmware/firewall/reroute.xml', text: firewallXml(), mode: 0o444 },
    { path: VM_SUPPORT_MANIFEST, text: vmSupportManifest(), mode: 0o444 },
    ...[...share].map(([rel, text]) => ({ path: `${INSTALL_DIR}/share/${rel}`, text, mode: 0o444 })),
  ];
}

/** The VIB version: the package version, with a release "-1" added when it has none. */
export function vibVersion(version: string): string {
  if (!/^[0-9A-Za-z.]+(-[0-9A-Za-z.]+)?$/.test(version)) throw new PackError(`package version "${version}" is not a VIB version (x.y.z[-release])`);
  return version.includes('-') ? version : `${version}-1`;
}

/** One ar member header: 60 bytes, names without a trailing '/', mtime/uid/gid 0, mode 100644. */
export function arHeader(name: string, size: number): Buffer {
  if (name.length > 16 || /[/\s]/.test(name)) throw new PackError(`ar member name "${name}": at most 16 characters, no '/' or space`);
  const h = `${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(size).padEnd(10)}\`\n`;
  if (h.length !== 60) throw new PackError(`ar member ${name}: size ${size} does not fit a header`);
  return Buffer.from(h, 'ascii');
}

/** Write an ar archive of `members` (file contents copied in 1 MB chunks; odd sizes padded with '\n'). */
export function writeAr(out: string, members: { name: string; file: string }[]): void {
  const fd = openSync(out, 'w', 0o644);
  try {
    writeSync(fd, Buffer.from('!<arch>\n', 'ascii'));
    const buf = Buffer.alloc(1 << 20);
    for (const m of members) {
      const size = statSync(m.file).size;
      writeSync(fd, arHeader(m.name, size));
      const src = openSync(m.file, 'r');
      try {
        for (let n; (n = readSync(src, buf, 0, buf.length, null)) > 0; ) writeSync(fd, buf, 0, n);
      } finally {
        closeSync(src);
      }
      if (size % 2 === 1) writeSync(fd, Buffer.from('\n'));
    }
  } finally {
    closeSync(fd);
  }
}

/** The gzip'd tar of a staged tree: ustar, owned by root, names sorted, every mtime `epoch`. */
export function tarGz(stage: string, out: string, epoch: number): void {
  const tops = walkTree(stage)
    .filter((e) => !e.rel.includes('/'))
    .map((e) => e.rel);
  run('tar', ['--create', '--gzip', '--file', out, '--format=ustar', '--owner=root:0', '--group=root:0', '--sort=name', `--mtime=@${epoch}`, '-C', stage, ...tops], 'tar of the payload', {
    env: { ...process.env, GZIP: '-n' },
  });
}

export interface VibOptions {
  bundle: string;
  out: string;
  vendor: string;
}

export interface VibReport {
  file: string;
  vendor: string;
  size: number;
  version: string;
  payloadSize: number;
  unpackedSize: number;
  files: number;
  seconds: number;
}

/** Build the VIB from the bundle. */
export function buildVib(o: VibOptions): VibReport {
  const t0 = Date.now();
  checkedBundle(o.bundle);
  const version = vibVersion(packageVersion());
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? Math.floor(Date.now() / 1000));
  if (!Number.isInteger(epoch) || epoch < 0) throw new PackError(`SOURCE_DATE_EPOCH "${process.env.SOURCE_DATE_EPOCH}" is not a whole number of seconds`);
  const stage = stageHostTree(o.bundle, vibHostFiles(shareFiles(new Date(epoch * 1000).toISOString().slice(0, 10))));
  const outside = walkTree(stage)
    .filter((e) => !e.dir)
    .map((e) => `/${e.rel}`)
    .filter((p) => !levelAllows('community', p) && !BEYOND_COMMUNITY.has(p));
  if (outside.length) throw new PackError(`the payload has ${outside.join(', ')}: outside a community VIB's paths (scripts/pack/vib-paths.ts)`);
  const work = `${stage}.vib`;
  try {
    mkdirSync(work);
    const payload = join(work, VIB_NAME);
    tarGz(stage, payload, epoch);
    const files = walkTree(stage)
      .filter((e) => !e.dir)
      .map((e) => e.rel);
    const tarBytes = gunzipSync(readFileSync(payload));
    const unpacked = { size: tarBytes.length, sha256: digest(tarBytes, 'sha256'), sha1: digest(tarBytes, 'sha1') };
    const descriptor = descriptorXml({
      name: VIB_NAME,
      version,
      vendor: o.vendor,
      releaseDate: new Date(epoch * 1000).toISOString().replace(/\.\d{3}Z$/, ''),
      files,
      payload: { name: VIB_NAME, size: statSync(payload).size, sha256: fileDigest(payload, 'sha256'), gunzipSha256: unpacked.sha256, gunzipSha1: unpacked.sha1 },
    });
    writeFileSync(join(work, 'descriptor.xml'), descriptor);
    writeFileSync(join(work, 'sig.pkcs7'), '');
    const file = join(o.out, `${VIB_NAME}-${packageVersion()}.vib`);
    mkdirSync(o.out, { recursive: true });
    writeAr(file, [
      { name: 'descriptor.xml', file: join(work, 'descriptor.xml') },
      { name: 'sig.pkcs7', file: join(work, 'sig.pkcs7') },
      { name: VIB_NAME, file: payload },
    ]);
    return {
      file,
      vendor: o.vendor,
      size: statSync(file).size,
      version,
      payloadSize: statSync(payload).size,
      unpackedSize: unpacked.size,
      files: files.length,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    rmSync(stage, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

function parseArgs(argv: string[]): VibOptions {
  const o: VibOptions = { bundle: DEFAULT_BUNDLE_DIR, out: join(ROOT, 'dist'), vendor: 'reroute' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new PackError(`${a} needs a value`);
      return v;
    };
    if (a === '--bundle') o.bundle = resolve(value());
    else if (a === '--out') o.out = resolve(value());
    else if (a === '--vendor') o.vendor = value();
    else throw new PackError(`unknown option ${a}: use --bundle <dir>, --out <dir>, --vendor <name>`);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(o.vendor)) throw new PackError(`--vendor ${o.vendor}: letters, digits, '.', '_' and '-' only`);
  return o;
}

/** Entry of scripts/build-vib. */
export function vibMain(argv: string[]): Promise<number> {
  return scriptMain('build-vib', () => {
    const r = buildVib(parseArgs(argv));
    process.stdout.write(
      [
        `vib        ${r.file}`,
        `  size     ${mb(r.size)} (payload ${mb(r.payloadSize)} gzip'd, ${mb(r.unpackedSize)} as a tar; ${r.files} files)`,
        `  id       ${r.vendor}_bootbank_${VIB_NAME}_${r.version} (community acceptance, live install)`,
        `  took     ${r.seconds.toFixed(1)} s`,
      ].join('\n') + '\n',
    );
  });
}
