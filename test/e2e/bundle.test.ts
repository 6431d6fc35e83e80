// The release artifact is one file: it must run copied alone into an empty folder.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, requireBundle, runCli } from './bundle';

describe('dist/preflight.js copied alone', () => {
  let dir: string;
  let bundle: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'preflight-bundle-'));
    bundle = path.join(dir, 'preflight.js');
    copyFileSync(requireBundle(), bundle);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('starts with a shebang and requires nothing but Node built-ins', () => {
    const text = readFileSync(bundle, 'utf8');
    assert.ok(text.startsWith('#!/usr/bin/env node\n'));
    const required = [...text.matchAll(/\brequire\((["'])([^"']+)\1\)/g)].map((m) => m[2]!);
    assert.ok(required.length > 0, 'expected the bundle to require node built-ins');
    const builtins = new Set(builtinModules);
    for (const r of required) {
      assert.ok(r.startsWith('node:') || builtins.has(r), `bundle requires non-builtin module ${r}`);
    }
  });

  test('--version prints the package version', async () => {
    const r = await runCli(['--version'], { bundle, cwd: dir });
    const { version } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), version);
  });

  test('--help lists the commands and exits 0', async () => {
    const r = await runCli(['--help'], { bundle, cwd: dir });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /usage: preflight <command>/);
    assert.match(r.stdout, /\bsample\b/);
  });

  test('sample --json prints one host sample', async () => {
    const r = await runCli(['sample', '--json'], { bundle, cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const key of ['cpu_percent', 'mem_used_percent', 'load1'] as const) {
      assert.equal(typeof s[key], 'number', `${key} = ${String(s[key])}`);
    }
    const disk = s.disk_used_percent as Record<string, number>;
    assert.ok(disk['/']! > 0 && disk['/']! <= 100, `disk / = ${disk['/']}`);
    assert.ok((s.cpu_percent as number) >= 0 && (s.cpu_percent as number) <= 100);
    assert.ok(Math.abs(Date.parse(s.at as string) - Date.now()) < 60_000);
  });

  test('sample prints a human summary line', async () => {
    const r = await runCli(['sample'], { bundle, cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\S+Z {2}RAM \d+%( \| swap \d+%)? \| disk \/ \d+% \| load \d+\.\d\d \| cpu \d+%\n$/);
  });

  const usage: { name: string; input: string[]; want: RegExp }[] = [
    { name: 'unknown command', input: ['frobnicate'], want: /^preflight: unknown command 'frobnicate'$/m },
    { name: 'unknown flag', input: ['sample', '--frob'], want: /^preflight: sample: unknown option '--frob'$/m },
    { name: 'unknown global flag', input: ['--frob'], want: /^preflight: unknown option --frob$/m },
    { name: 'extra argument', input: ['sample', 'extra'], want: /^preflight: sample: unexpected argument 'extra'$/m },
  ];
  for (const c of usage) {
    test(`usage error: ${c.name} exits 2 with one line naming it`, async () => {
      const r = await runCli(c.input, { bundle, cwd: dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, c.want);
      assert.match(r.stderr, /usage: preflight/);
      assert.equal(r.stdout, '');
    });
  }
});
