'use strict';
// Shared body of the fake ESXi commands (esxcfg-route, esxcli, esxcfg-vmknic). Plain Node, no build step.
// The host's table lives in the JSON file named by FAKE_ESXI_STATE (the lab plan of DESIGN.md when missing);
// every invocation is appended to FAKE_ESXI_STATE + '.calls'. State fields that steer failures:
//   fail:   { list|add|delete|gateway|vmknic: <count of next calls that fail> | true (always) }
//   hang:   [ op names or argv words ]  -> the call never returns (with a child holding its pipes)
//   hangAfter: { op: n }               -> the first n calls of op work, every later one hangs (a pass stuck
//                                         after a change took effect: the read-back after an add hangs)
//   hangDone: { op: n }                -> the next n calls of op take effect, then hang (a change that ran past
//                                         its timeout although it was made)
//   output: { op: "raw text" }          -> printed instead of the table (garbage-output tests)
//   format: "modern" | "old"            -> esxcfg-route -l with / without the Interface column
//   vmknicFormat: "modern" | "old"      -> esxcfg-vmknic -l with / without TSO MSS and NetStack
//   nfs, filesystems                    -> the datastores `esxcli storage nfs list` and
//                                          `esxcli storage filesystem list` print (ops "nfs" and "filesystem")
// FAKE_ESXI_KERNEL=1 mirrors every change into the Linux table with `ip route` and lists vmknics from
// `ip -j addr`; it refuses to run in the root network namespace. In a userworld root (no /proc: the ESXi-flavour
// tests run them there, on the bundle's loader and shim) the vmknics come from the state file, and the namespace
// check is userworld's (--netns-only).
const fs = require('node:fs');
const { spawnSync, spawn } = require('node:child_process');

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);
const isIPv4 = (s) => typeof s === 'string' && IPV4.test(s);
const toNum = (ip) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
const toIp = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const maskOf = (prefix) => toIp(prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0);
function prefixOf(mask) {
  if (!isIPv4(mask)) return null;
  const inv = ~toNum(mask) >>> 0;
  return (inv & (inv + 1)) === 0 ? 32 - Math.log2(inv + 1) : null;
}
const inNet = (ip, net, prefix) => prefix === 0 || (toNum(ip) >>> (32 - prefix)) === (toNum(net) >>> (32 - prefix));

function defaultState() {
  const nic = (iface, portGroup, address, broadcast, mac, mtu) => ({
    iface, portGroup, family: 'IPv4', address, netmask: '255.255.255.0', broadcast, mac, mtu,
    tsoMss: 65535, enabled: true, type: 'STATIC', netStack: 'defaultTcpipStack',
  });
  return {
    format: 'modern',
    vmknicFormat: 'modern',
    routes: [
      { network: '192.168.33.2', netmask: '255.255.255.255', gateway: '10.10.85.15', iface: 'vmk1', source: 'MANUAL' },
      { network: '10.10.85.0', netmask: '255.255.255.0', gateway: null, iface: 'vmk1', source: 'MANUAL' },
      { network: '192.168.33.0', netmask: '255.255.255.0', gateway: null, iface: 'vmk2', source: 'MANUAL' },
      { network: '192.168.85.0', netmask: '255.255.255.0', gateway: null, iface: 'vmk0', source: 'MANUAL' },
      { network: 'default', netmask: '0.0.0.0', gateway: '192.168.85.1', iface: 'vmk0', source: 'MANUAL' },
    ],
    vmknics: [
      nic('vmk0', 'Management Network', '192.168.85.11', '192.168.85.255', '00:50:56:6b:b8:54', 1500),
      { ...nic('vmk0', 'Management Network', 'fe80::250:56ff:fe6b:b854', '', '00:50:56:6b:b8:54', 1500),
        family: 'IPv6', netmask: '64', type: 'STATIC, PREFERRED' },
      nic('vmk1', 'storage', '10.10.85.11', '10.10.85.255', '00:50:56:61:11:02', 9000),
      nic('vmk2', 'nfs', '192.168.33.1', '192.168.33.255', '00:50:56:62:22:03', 1500),
    ],
    // The NFS datastore the SCVMs serve through the VIP, the host's local VMFS datastore and a boot partition.
    nfs: [
      { volumeName: 'zbs-nfs', host: '192.168.33.2', share: '/zbs/nfs', accessible: true, mounted: true, readOnly: false,
        isPE: false, hardwareAcceleration: 'Not Supported' },
    ],
    filesystems: [
      { mountPoint: '/vmfs/volumes/2707af93-17b6f4d4', volumeName: 'zbs-nfs', uuid: '2707af93-17b6f4d4', mounted: true,
        type: 'NFS', size: 40008333393920, free: 12798507614208 },
      { mountPoint: '/vmfs/volumes/5ad72ff6-920c8d20-3ee7-848f69e3e398', volumeName: 'datastore1',
        uuid: '5ad72ff6-920c8d20-3ee7-848f69e3e398', mounted: true, type: 'VMFS-6', size: 890131972096, free: 156750577664 },
      { mountPoint: '/vmfs/volumes/5ad93bed-3b0a5ee0-8d62-848f69e3e398', volumeName: '',
        uuid: '5ad93bed-3b0a5ee0-8d62-848f69e3e398', mounted: true, type: 'vfat', size: 4293591040, free: 4257939456 },
    ],
    fail: {},
    hang: [],
    output: {},
  };
}

function statePath() {
  const p = process.env.FAKE_ESXI_STATE;
  if (!p) {
    process.stderr.write('fake ESXi: FAKE_ESXI_STATE is not set (name the JSON file holding the fake host table)\n');
    process.exit(2);
  }
  return p;
}

function load() {
  const p = statePath();
  if (!fs.existsSync(p)) save(defaultState());
  return { ...defaultState(), ...JSON.parse(fs.readFileSync(p, 'utf8')) };
}

function save(state) {
  const p = statePath();
  fs.writeFileSync(`${p}.tmp${process.pid}`, JSON.stringify(state, null, 2));
  fs.renameSync(`${p}.tmp${process.pid}`, p);
}

function recordCall(tool, argv) {
  fs.appendFileSync(`${statePath()}.calls`, JSON.stringify({ tool, argv, time: new Date().toISOString() }) + '\n');
}

function die(line, status = 1) {
  process.stderr.write(line + '\n');
  process.exit(status);
}

function hangForever() {
  // A grandchild holding stdout/stderr open, as the field incident had: only a process-group kill ends this.
  spawn('sleep', ['3600'], { stdio: ['ignore', 'inherit', 'inherit'] });
  setInterval(() => {}, 1 << 30);
}

/** Apply fail/hang/output steering for `op`; returns the raw output override, if any. */
function steer(state, op, argv) {
  const hang = state.hang || [];
  if (hang.includes(op) || argv.some((a) => hang.includes(a))) return { hang: true };
  const after = (state.hangAfter || {})[op];
  if (typeof after === 'number') {
    if (after <= 0) return { hang: true };
    state.hangAfter[op] = after - 1;
    save(state);
  }
  const f = (state.fail || {})[op];
  if (f === true || (typeof f === 'number' && f > 0)) {
    if (typeof f === 'number') {
      state.fail[op] = f - 1;
      save(state);
    }
    return { fail: `Error: simulated failure of ${op} (fake ESXi state fail.${op})` };
  }
  const out = (state.output || {})[op];
  return typeof out === 'string' ? { output: out } : {};
}

/** In a userworld root (tests/support/esxi/userworld.ts): no /proc, and busybox's `ip`, which has no netns or -j. */
const inUserworldRoot = () => !fs.existsSync('/proc/self');

function kernelMode() {
  if (process.env.FAKE_ESXI_KERNEL !== '1') return false;
  if (inUserworldRoot()) {
    // Without /proc the namespace cannot be told from here: userworld --netns-only checked it before its chroot, and
    // says so in USERWORLD_NETNS_ONLY; without that, refused.
    if (process.env.USERWORLD_NETNS_ONLY === '1') return true;
    die('fake ESXi: FAKE_ESXI_KERNEL=1 in a root without /proc is refused unless userworld --netns-only started it', 2);
  }
  // Network safety: the kernel mirror may only ever touch a test namespace's table.
  // `ip netns identify` names the namespace this process is in; empty means not in a named (test) namespace.
  const id = spawnSync('ip', ['netns', 'identify'], { encoding: 'utf8' });
  if (id.status !== 0 || (id.stdout || '').trim() === '') {
    die('fake ESXi: FAKE_ESXI_KERNEL=1 refused in the root network namespace; run it under "ip netns exec"', 2);
  }
  return true;
}

function mirror(args) {
  if (!kernelMode()) return;
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) die(`Error: ip ${args.join(' ')}: ${(r.stderr || '').trim()}`);
}

// ---- printing ---------------------------------------------------------------------------------------------

function table(rows, widths) {
  return rows
    .map((cells) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(Math.max(widths[i], c.length + 1))))
        .join('')
        .trimEnd(),
    )
    .map((l) => l + '\n')
    .join('');
}

function esxcfgRouteList(state) {
  const old = state.format === 'old';
  const head = old ? ['Network', 'Netmask', 'Gateway'] : ['Network', 'Netmask', 'Gateway', 'Interface'];
  const rows = state.routes.map((r) => {
    const cells = [r.network, r.netmask, r.gateway === null ? 'Local Subnet' : r.gateway];
    return old ? cells : [...cells, r.iface];
  });
  const widths = head.map((_, i) => Math.max(16, ...rows.map((r) => r[i].length)) + 1);
  return 'VMkernel Routes:\n' + table([head, ...rows], widths);
}

function esxcliRouteList(state) {
  const head = ['Network', 'Netmask', 'Gateway', 'Interface', 'Source'];
  const rows = state.routes.map((r) => [r.network, r.netmask, r.gateway === null ? '0.0.0.0' : r.gateway, r.iface, r.source || 'MANUAL']);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd() + '\n';
  return line(head) + line(w.map((n) => '-'.repeat(n))) + rows.map(line).join('');
}

/**
 * An esxcli table as `storage nfs list` and `storage filesystem list` print it: every column as wide as its widest
 * cell or header, two spaces apart, a line of dashes under the header; text left-aligned, booleans and numbers (and
 * their headers) right-aligned. cols: [header, 'L' | 'R', row => cell].
 */
function esxcliTable(cols, rows) {
  const cells = rows.map((r) => cols.map(([, , get]) => String(get(r))));
  const w = cols.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (vals) => vals.map((v, i) => (cols[i][1] === 'R' ? v.padStart(w[i]) : v.padEnd(w[i]))).join('  ').trimEnd() + '\n';
  return line(cols.map(([h]) => h)) + w.map((n) => '-'.repeat(n)).join('  ') + '\n' + cells.map(line).join('');
}

function nfsList(state) {
  return esxcliTable(
    [
      ['Volume Name', 'L', (d) => d.volumeName], ['Host', 'L', (d) => d.host], ['Share', 'L', (d) => d.share],
      ['Accessible', 'R', (d) => d.accessible], ['Mounted', 'R', (d) => d.mounted], ['Read-Only', 'R', (d) => d.readOnly],
      ['isPE', 'R', (d) => d.isPE], ['Hardware Acceleration', 'L', (d) => d.hardwareAcceleration],
    ],
    state.nfs || [],
  );
}

function filesystemList(state) {
  return esxcliTable(
    [
      ['Mount Point', 'L', (f) => f.mountPoint], ['Volume Name', 'L', (f) => f.volumeName], ['UUID', 'L', (f) => f.uuid],
      ['Mounted', 'R', (f) => f.mounted], ['Type', 'L', (f) => f.type], ['Size', 'R', (f) => f.size], ['Free', 'R', (f) => f.free],
    ],
    state.filesystems || [],
  );
}

function vmknicList(state) {
  const old = state.vmknicFormat === 'old';
  const cols = [
    ['Interface', 11, (n) => n.iface],
    ['Port Group/DVPort/Opaque Network', 40, (n) => n.portGroup],
    ['IP Family', 10, (n) => n.family],
    ['IP Address', 40, (n) => n.address],
    ['Netmask', 16, (n) => n.netmask],
    ['Broadcast', 16, (n) => n.broadcast || ''],
    ['MAC Address', 18, (n) => n.mac],
    ['MTU', 8, (n) => String(n.mtu)],
    ['TSO MSS', 10, (n) => String(n.tsoMss)],
    ['Enabled', 8, (n) => String(n.enabled)],
    ['Type', 20, (n) => n.type],
    ['NetStack', 0, (n) => n.netStack],
  ].filter(([name]) => !old || (name !== 'TSO MSS' && name !== 'NetStack'));
  // in a userworld root the test writes the host namespace's addresses into the state (busybox's ip has no -j)
  const nics = kernelMode() && !inUserworldRoot() ? kernelVmknics() : state.vmknics;
  const rows = [cols.map(([name]) => name), ...nics.map((n) => cols.map(([, , get]) => get(n)))];
  // Columns are padded to their longest value, so a long port group name widens its column.
  return table(rows, cols.map(([, w], i) => Math.max(w, ...rows.map((r) => r[i].length + 1))));
}

function kernelVmknics() {
  const r = spawnSync('ip', ['-j', 'addr'], { encoding: 'utf8' });
  if (r.status !== 0) die(`Error: ip -j addr: ${(r.stderr || '').trim()}`);
  const nics = [];
  for (const link of JSON.parse(r.stdout || '[]')) {
    if (link.ifname === 'lo') continue;
    for (const a of link.addr_info || []) {
      if (a.family !== 'inet') continue;
      // Named like ESXi's vmknics; the Linux interface name becomes the port group.
      const bcast = toIp((toNum(a.local) | (~toNum(maskOf(a.prefixlen)) >>> 0)) >>> 0);
      nics.push({
        iface: `vmk${nics.length}`, portGroup: link.ifname, family: 'IPv4', address: a.local, netmask: maskOf(a.prefixlen),
        broadcast: a.broadcast || bcast, mac: link.address || '00:00:00:00:00:00', mtu: link.mtu, tsoMss: 65535,
        enabled: (link.flags || []).includes('UP'), type: 'STATIC', netStack: 'defaultTcpipStack',
      });
    }
  }
  return nics;
}

// ---- changes ----------------------------------------------------------------------------------------------

/** Parse "default" | "a.b.c.d/N" (or network + dotted mask) into {network, netmask, prefix}, or an error line. */
function parseNetwork(net, mask) {
  if (net === 'default') return { network: 'default', netmask: '0.0.0.0', prefix: 0 };
  let ip = net;
  let prefix;
  if (mask !== undefined) {
    prefix = prefixOf(mask);
  } else {
    const m = /^([^/]+)\/([0-9]{1,2})$/.exec(net);
    if (!m) return `Error: Invalid network "${net}": expected <network>/<prefix>, <network> <netmask> or default`;
    ip = m[1];
    prefix = Number(m[2]);
  }
  if (!isIPv4(ip) || prefix === null || prefix > 32) return `Error: Invalid network "${net}${mask ? ' ' + mask : ''}"`;
  if (prefix < 32 && toNum(ip) % 2 ** (32 - prefix) !== 0) return `Error: Invalid network "${net}": host bits set`;
  return { network: ip, netmask: maskOf(prefix), prefix };
}

function sameNet(r, n) {
  return r.network === n.network && r.netmask === n.netmask;
}

function addRoute(state, n, gw) {
  if (!isIPv4(gw)) return `Error: Invalid gateway "${gw}"`;
  if (state.routes.some((r) => sameNet(r, n))) {
    return `Error: Unable to add route ${n.network}/${n.prefix}: a route to this network already exists`;
  }
  const local = state.routes.find((r) => r.gateway === null && inNet(gw, r.network, prefixOf(r.netmask)));
  if (!local) return `Error: Unable to add route ${n.network}/${n.prefix}: gateway ${gw} is not on any VMkernel subnet`;
  mirror(['route', 'replace', n.network === 'default' ? 'default' : `${n.network}/${n.prefix}`, 'via', gw]);
  state.routes.push({ network: n.network, netmask: n.netmask, gateway: gw, iface: local.iface, source: 'MANUAL' });
  save(state);
  return null;
}

function deleteRoute(state, n, gw) {
  if (!isIPv4(gw)) return `Error: Invalid gateway "${gw}"`;
  const i = state.routes.findIndex((r) => sameNet(r, n) && r.gateway === gw);
  if (i < 0) return `Error: Unable to delete route ${n.network}/${n.prefix} via ${gw}: no such route`;
  mirror(['route', 'del', n.network === 'default' ? 'default' : `${n.network}/${n.prefix}`, 'via', gw]);
  state.routes.splice(i, 1);
  save(state);
  return null;
}

// ---- the three commands -----------------------------------------------------------------------------------

function run(tool, op, argv, state, body) {
  const s = steer(state, op, argv);
  if (s.hang) return hangForever();
  if (s.fail) die(s.fail);
  if (s.output !== undefined) return process.stdout.write(s.output);
  const done = (state.hangDone || {})[op];
  if (typeof done === 'number' && done > 0) state.hangDone[op] = done - 1;
  body();
  if (typeof done === 'number' && done > 0) hangForever();
}

const ESXCFG_ROUTE_USAGE = 'Usage: esxcfg-route [-l] | [-a|-d] <network>/<prefix>|<network> <netmask>|default <gateway>';

function esxcfgRoute(argv, state) {
  const [flag, ...rest] = argv;
  if (flag === undefined) {
    return run('esxcfg-route', 'gateway', argv, state, () => {
      const d = state.routes.find((r) => r.network === 'default');
      process.stdout.write(d ? `VMkernel default gateway is ${d.gateway}\n` : 'VMkernel default gateway is not set\n');
    });
  }
  if ((flag === '-l' || flag === '--list') && rest.length === 0) {
    return run('esxcfg-route', 'list', argv, state, () => process.stdout.write(esxcfgRouteList(state)));
  }
  const isAdd = flag === '-a' || flag === '--add';
  const isDel = flag === '-d' || flag === '--del';
  if ((isAdd || isDel) && (rest.length === 2 || rest.length === 3)) {
    const gw = rest[rest.length - 1];
    const n = parseNetwork(rest[0], rest.length === 3 ? rest[1] : undefined);
    if (typeof n === 'string') die(`${n}\n${ESXCFG_ROUTE_USAGE}`);
    return run('esxcfg-route', isAdd ? 'add' : 'delete', argv, state, () => {
      const err = isAdd ? addRoute(state, n, gw) : deleteRoute(state, n, gw);
      if (err) die(err);
      const shown = n.network === 'default' ? 'default' : `${n.network}/${n.prefix}`;
      process.stdout.write(isAdd ? `Adding static route ${shown} to VMkernel\n` : `Deleting static route ${shown} from VMkernel\n`);
    });
  }
  die(`Error: invalid arguments: ${argv.join(' ')}\n${ESXCFG_ROUTE_USAGE}`);
}

function esxcliOptions(args) {
  const opts = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = /^(--gateway|--network)=(.*)$/.exec(a);
    const name = eq ? eq[1] : a;
    const key = { '--gateway': 'gateway', '-g': 'gateway', '--network': 'network', '-n': 'network' }[name];
    if (!key) return `Error: Invalid option ${a}`;
    const value = eq ? eq[2] : args[++i];
    if (value === undefined || value === '') return `Error: Missing value for option ${a}`;
    opts[key] = value;
  }
  if (!opts.gateway) return 'Error: Missing required parameter -g|--gateway';
  if (!opts.network) return 'Error: Missing required parameter -n|--network';
  return opts;
}

function esxcli(argv, state) {
  const storage = { 'storage nfs list': ['nfs', nfsList], 'storage filesystem list': ['filesystem', filesystemList] }[argv.slice(0, 3).join(' ')];
  if (storage) {
    if (argv.length > 3) die(`Error: Invalid option ${argv[3]}`);
    return run('esxcli', storage[0], argv, state, () => process.stdout.write(storage[1](state)));
  }
  const ns = argv.slice(0, 4).join(' ');
  const sub = argv[4];
  if (ns !== 'network ip route ipv4' || !['list', 'add', 'remove'].includes(sub)) {
    die(`Error: Unknown command or namespace ${argv.join(' ')}`);
  }
  const args = argv.slice(5);
  if (sub === 'list') {
    if (args.length) die(`Error: Invalid option ${args[0]}`);
    return run('esxcli', 'list', argv, state, () => process.stdout.write(esxcliRouteList(state)));
  }
  const o = esxcliOptions(args);
  if (typeof o === 'string') die(o);
  const n = parseNetwork(o.network);
  if (typeof n === 'string') die(n);
  return run('esxcli', sub === 'add' ? 'add' : 'delete', argv, state, () => {
    const err = sub === 'add' ? addRoute(state, n, o.gateway) : deleteRoute(state, n, o.gateway);
    if (err) die(err);
  });
}

function esxcfgVmknic(argv, state) {
  if (argv.length !== 1 || (argv[0] !== '-l' && argv[0] !== '--list')) {
    die(`Error: invalid arguments: ${argv.join(' ')} (this fake supports only -l)`);
  }
  return run('esxcfg-vmknic', 'vmknic', argv, state, () => process.stdout.write(vmknicList(state)));
}

/** Entry of each fake executable. */
function main(tool) {
  const argv = process.argv.slice(2);
  recordCall(tool, argv);
  const state = load();
  if (tool === 'esxcfg-route') return esxcfgRoute(argv, state);
  if (tool === 'esxcli') return esxcli(argv, state);
  if (tool === 'esxcfg-vmknic') return esxcfgVmknic(argv, state);
  die(`fake ESXi: unknown tool ${tool}`, 2);
}

module.exports = { main, defaultState, esxcfgRouteList, esxcliRouteList, vmknicList, nfsList, filesystemList };
