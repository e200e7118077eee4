/** The pure /proc and nvidia-smi parsers of the system services, and the CPU sampler, on fixed input. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cpuPercentBetween,
  filterProcesses,
  memoryFromMeminfo,
  mountOf,
  parseBootTime,
  parseCmdline,
  parseCpuTimes,
  parseMeminfo,
  parseMounts,
  parseNvidiaSmi,
  parsePasswd,
  parsePidStat,
  parsePidStatus,
  processNames,
  realMountPoints,
  type CpuTimes,
  type ProcessInfo,
} from '../../src/system/proc.ts';
import { CpuSampler } from '../../src/system/metrics.ts';

const PROC_STAT = `cpu  146728 10 74131 99349 253 0 681 5 0 0
cpu0 72197 0 37462 50602 61 0 314 0 0 0
cpu1 74531 0 36669 48747 191 0 366 0 0 0
intr 1 2 3
ctxt 123
btime 1764600000
processes 4242
`;

describe('/proc/stat', () => {
  it('sums the aggregate cpu line (idle = idle + iowait; guest not counted twice)', () => {
    assert.deepEqual(parseCpuTimes(PROC_STAT), {
      idle: 99349 + 253,
      total: 146728 + 10 + 74131 + 99349 + 253 + 0 + 681 + 5,
    });
    assert.equal(parseCpuTimes('cpu0 1 2 3 4\n'), null);
    assert.equal(parseCpuTimes(''), null);
  });

  it('cpu % between two readings, null when no tick passed', () => {
    const a: CpuTimes = { idle: 1000, total: 2000 };
    assert.equal(cpuPercentBetween(a, { idle: 1075, total: 2100 }), 25);
    assert.equal(cpuPercentBetween(a, { idle: 1000, total: 2100 }), 100);
    assert.equal(cpuPercentBetween(a, { idle: 1100, total: 2100 }), 0);
    assert.equal(cpuPercentBetween(a, a), null);
    assert.equal(cpuPercentBetween(a, { idle: 900, total: 1900 }), null, 'counters that went back');
    assert.equal(cpuPercentBetween(a, { idle: 1001, total: 2003 }), 66.67);
  });

  it('boot time from btime', () => {
    assert.equal(parseBootTime(PROC_STAT), 1764600000);
    assert.equal(parseBootTime('cpu 1 2 3 4\n'), null);
  });
});

describe('/proc/meminfo', () => {
  const MEMINFO = `MemTotal:       24683548 kB
MemFree:        21191532 kB
MemAvailable:   21452692 kB
Buffers:            5948 kB
Cached:           477756 kB
SwapTotal:       2097148 kB
SwapFree:        1048574 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
`;

  it('parses kB values into bytes and bare counts as they are', () => {
    const info = parseMeminfo(MEMINFO);
    assert.equal(info.MemTotal, 24683548 * 1024);
    assert.equal(info.HugePages_Total, 0);
    assert.equal(info.Hugepagesize, 2048 * 1024);
  });

  it('memory and swap with percentages', () => {
    const m = memoryFromMeminfo(parseMeminfo(MEMINFO))!;
    assert.equal(m.memory.total, 24683548 * 1024);
    assert.equal(m.memory.available, 21452692 * 1024);
    assert.equal(m.memory.used, (24683548 - 21452692) * 1024);
    assert.equal(m.memory.percent, 13.09);
    assert.deepEqual(m.swap, { total: 2097148 * 1024, used: 1048574 * 1024, free: 1048574 * 1024, percent: 50 });
  });

  it('no swap is 0 %, a missing MemAvailable is estimated, no MemTotal is null', () => {
    const noSwap = memoryFromMeminfo(parseMeminfo('MemTotal: 1000 kB\nMemAvailable: 500 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n'))!;
    assert.equal(noSwap.swap.percent, 0);
    const old = memoryFromMeminfo(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n'))!;
    assert.equal(old.memory.available, 400 * 1024);
    assert.equal(memoryFromMeminfo(parseMeminfo('MemFree: 1 kB\n')), null);
  });
});

describe('/proc/mounts', () => {
  const MOUNTS = `proc /proc proc rw,relatime 0 0
sysfs /sys sysfs rw,relatime 0 0
devtmpfs /dev devtmpfs rw,relatime,size=12334172k 0 0
tmpfs /dev/shm tmpfs rw,relatime 0 0
overlay / overlay rw,relatime,lowerdir=/a 0 0
/dev/vda1 /etc/hosts ext4 rw,relatime 0 0
/dev/vda1 /etc/resolv.conf ext4 rw,relatime 0 0
/dev/vdb /data xfs rw,relatime 0 0
/dev/vdc /mnt/my\\040disk ext4 ro,relatime 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw 0 0
server:/export /mnt/nfs nfs4 rw 0 0
`;

  it('parses entries and decodes octal escapes', () => {
    const m = parseMounts(MOUNTS);
    assert.equal(m.length, 11);
    assert.deepEqual(m[8], { device: '/dev/vdc', mount_point: '/mnt/my disk', fstype: 'ext4', options: ['ro', 'relatime'] });
  });

  it('real mount points: "/" first, pseudo filesystems skipped, one per device', () => {
    assert.deepEqual(realMountPoints(parseMounts(MOUNTS)), ['/', '/etc/hosts', '/data', '/mnt/my disk', '/mnt/nfs']);
    assert.deepEqual(realMountPoints([]), ['/']);
  });

  it('the mount a path lives on is the longest matching mount point', () => {
    const m = parseMounts(MOUNTS);
    assert.equal(mountOf('/data/x/y', m)?.mount_point, '/data');
    assert.equal(mountOf('/data', m)?.mount_point, '/data');
    assert.equal(mountOf('/database', m)?.mount_point, '/');
    assert.equal(mountOf('/tmp', m)?.fstype, 'overlay');
  });
});

describe('/proc/<pid>', () => {
  it('stat: the name may hold spaces and parentheses', () => {
    const text = '4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 12345 1000000 300 18446744073709551615 0 0';
    assert.deepEqual(parsePidStat(text), {
      pid: 4242,
      name: 'my (odd) name',
      state: 'S',
      ppid: 1,
      cpu_ticks: 300,
      start_ticks: 12345,
      rss_pages: 300,
    });
    assert.equal(parsePidStat('garbage'), null);
    assert.equal(parsePidStat('12 (short) S 1 2'), null);
  });

  it('status: uid, VmRSS in bytes, and kernel threads without VmRSS', () => {
    assert.deepEqual(parsePidStatus('Name:\tnode\nUid:\t1000\t1000\t1000\t1000\nVmRSS:\t  2048 kB\n'), { uid: 1000, rss: 2048 * 1024, name: 'node' });
    assert.deepEqual(parsePidStatus('Name:\tkworker/0:1\nUid:\t0\t0\t0\t0\n'), { uid: 0, rss: null, name: 'kworker/0:1' });
  });

  it('cmdline is NUL-separated; kernel threads have none', () => {
    assert.deepEqual(parseCmdline('node\0dist/cli/main.js\0host\0'), ['node', 'dist/cli/main.js', 'host']);
    assert.deepEqual(parseCmdline(''), []);
  });

  it('names: comm, its cut form completed from argv[0], and the program', () => {
    assert.deepEqual(processNames('MainThread', ['/usr/bin/node', 'x.js']), { name: 'MainThread', program: 'node' });
    assert.deepEqual(processNames('very-long-proce', ['/opt/bin/very-long-process-name']), { name: 'very-long-process-name', program: 'very-long-process-name' });
    assert.deepEqual(processNames('kthreadd', []), { name: 'kthreadd', program: null });
  });

  it('passwd maps uids to names', () => {
    const users = parsePasswd('root:x:0:0:root:/root:/bin/bash\nnode:x:1000:1000::/home/node:/bin/sh\n# comment\n');
    assert.equal(users.get(0), 'root');
    assert.equal(users.get(1000), 'node');
    assert.equal(users.size, 2);
  });
});

describe('plist filtering', () => {
  const proc = (pid: number, name: string, rss: number, cmdline: string[] = [name]): ProcessInfo => ({
    pid,
    ppid: 1,
    name,
    program: cmdline[0] ?? null,
    state: 'S',
    uid: 0,
    user: 'root',
    rss,
    cpu_seconds: 0,
    started_at: null,
    cmdline,
  });
  const all = [
    proc(10, 'node', 100),
    proc(11, 'MainThread', 300, ['node', 'server.js']),
    proc(12, 'bash', 50),
    proc(13, 'Python3', 300),
    proc(14, 'kworker', 0, []),
  ];

  it('matches name or command line case-insensitively, largest RSS first (then pid)', () => {
    const r = filterProcesses(all, 'NODE', 25);
    assert.deepEqual(r.processes.map((p) => p.pid), [11, 10]);
    assert.equal(r.total_matches, 2);
    assert.equal(r.truncated, false);
    assert.deepEqual(filterProcesses(all, 'python', 25).processes.map((p) => p.pid), [13]);
    assert.deepEqual(filterProcesses(all, 'server.js', 25).processes.map((p) => p.pid), [11]);
    assert.equal(filterProcesses(all, 'nothing-like-this', 25).total_matches, 0);
  });

  it('an empty query lists everything; limit truncates', () => {
    const r = filterProcesses(all, '', 2);
    assert.deepEqual(r.processes.map((p) => p.pid), [11, 13]);
    assert.equal(r.total_matches, 5);
    assert.equal(r.truncated, true);
    assert.equal(filterProcesses(all, undefined, 5).truncated, false);
  });
});

describe('nvidia-smi', () => {
  it('parses CSV rows, MiB to bytes, [N/A] to null', () => {
    const out = '0, NVIDIA A100-SXM4-40GB, 37, 40960, 1024, 41\n1, Tesla T4, [N/A], 15360, [N/A], 30\n\n';
    assert.deepEqual(parseNvidiaSmi(out), [
      { index: 0, name: 'NVIDIA A100-SXM4-40GB', utilization_percent: 37, memory_total: 40960 * 1024 ** 2, memory_used: 1024 * 1024 ** 2, temperature_c: 41 },
      { index: 1, name: 'Tesla T4', utilization_percent: null, memory_total: 15360 * 1024 ** 2, memory_used: null, temperature_c: 30 },
    ]);
    assert.deepEqual(parseNvidiaSmi(''), []);
    assert.deepEqual(parseNvidiaSmi('No devices were found\n'), []);
  });
});

describe('CpuSampler', () => {
  it('measures since the previous reading and remembers the last one', async () => {
    const readings: CpuTimes[] = [
      { idle: 0, total: 0 },
      { idle: 50, total: 100 },
      { idle: 50, total: 200 },
    ];
    let i = 0;
    const sampler = new CpuSampler(() => readings[Math.min(i++, readings.length - 1)]!);
    sampler.prime();
    const first = await sampler.sinceLast(0);
    assert.equal(first.percent, 50);
    const second = await sampler.sinceLast(0);
    assert.equal(second.percent, 100);
    const none = await sampler.sinceLast(0);
    assert.equal(none.percent, null, 'no tick between the last two readings');
  });

  it('waits for the minimum window when the previous reading is too recent', async () => {
    let t = 0;
    const sampler = new CpuSampler(() => ({ idle: t, total: (t += 10) }));
    const started = Date.now();
    const r = await sampler.sinceLast(30);
    assert.ok(Date.now() - started >= 25, 'waited for the window');
    assert.ok(r.window_seconds >= 0.02);
  });
});
