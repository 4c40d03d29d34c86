import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { only, render, ROOT } from './manifests';

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (line continuations joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    if (keyword.toUpperCase() === 'FROM') {
      const [from, , name] = args.split(/\s+/).filter((word) => !word.startsWith('--'));
      stages.push({ from, name, instructions: [] });
    } else {
      stages.at(-1)!.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

/** Packages the service code imports at run time (type-only imports and specs left out). */
function runtimeImports(): Set<string> {
  const files = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[]).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'),
  );
  const packages = new Set<string>();
  for (const file of files) {
    const source = readFileSync(join(ROOT, 'src', file), 'utf8');
    for (const [, specifier] of source.matchAll(/^import\s+(?!type\s)(?:[^;]*?\sfrom\s+)?'([^'.][^']*)'/gm)) {
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
      if (!name.startsWith('node:') && !builtinModules.includes(name)) packages.add(name);
    }
  }
  return packages;
}

const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const args = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

describe('Dockerfile', () => {
  const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const build = stages[0];
  const runtime = stages.at(-1)!;

  it('has a build stage and a runtime stage on the same Node 24 slim image, its minor version explicit', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    // node:24.<minor>-bookworm-slim, with a digest only when a release pinned one (docs/deploy.md).
    for (const stage of stages) expect(stage.from).toMatch(/^node:24\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    expect(new Set(stages.map((stage) => stage.from)).size).toBe(1);
  });

  it('names a Node version that package.json engines accept', () => {
    const { engines } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const [, minor] = /^node:24\.(\d+)/.exec(runtime.from)!;
    // engines accept Node 24 from 24.11.0, where it became LTS.
    expect(engines.node).toContain('^24.11.0');
    expect(Number(minor)).toBeGreaterThanOrEqual(11);
  });

  it('installs dependencies in each stage with npm ci from the committed lockfile', () => {
    for (const stage of [build, runtime]) {
      const copyLockfile = stage.instructions.findIndex(
        (i) => i.keyword === 'COPY' && /\bpackage\.json\b/.test(i.args) && /\bpackage-lock\.json\b/.test(i.args),
      );
      const install = stage.instructions.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
      expect(copyLockfile).toBeGreaterThanOrEqual(0);
      expect(install).toBeGreaterThan(copyLockfile);
      expect(runs(stage).join('\n')).not.toMatch(/\bnpm (install|i)\b/);
    }
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(lock.lockfileVersion).toBeGreaterThanOrEqual(2);
    expect(lock.packages[''].dependencies).toEqual(pkg.dependencies);
  });

  it('builds in the build stage and keeps production dependencies only at runtime', () => {
    expect(runs(build).some((cmd) => /\bnpm run build\b/.test(cmd))).toBe(true);
    expect(runs(runtime).some((cmd) => /\bnpm ci\b.*--omit=dev\b/.test(cmd))).toBe(true);
    expect(args(runtime, 'COPY').some((a) => a.startsWith(`--from=${build.name}`) && /\bdist\b/.test(a))).toBe(true);
  });

  it('ships the CLI: src/cli.ts is compiled to dist/cli.js, and the runtime stage copies the whole of dist', () => {
    expect(existsSync(join(ROOT, 'src', 'cli.ts'))).toBe(true);
    const buildConfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8'));
    expect(buildConfig.include).toContain('src');
    expect(buildConfig.compilerOptions.rootDir).toBe('./src');
    expect(args(build, 'COPY')).toContain('src ./src');
    expect(args(runtime, 'COPY')).toContain(`--from=${build.name} /app/dist ./dist`);
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(scripts.cli).toMatch(/\bnode dist\/cli\.js$/);
  });

  it('has every package the service imports among the production dependencies, and nothing else there', () => {
    const { dependencies, devDependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const imported = [...runtimeImports()];
    expect(imported).toContain('@nestjs/core');
    expect(imported.filter((name) => !(name in dependencies))).toEqual([]);
    // Development-only packages stay out of the image; pretty logs degrade without pino-pretty.
    expect(Object.keys(dependencies).filter((name) => !imported.includes(name))).toEqual([]);
    expect(devDependencies).toHaveProperty('pino-pretty');
  });

  it('runs node dist/main.js in exec form as a non-root numeric user, on port 8080', () => {
    expect(JSON.parse(args(runtime, 'CMD')[0])).toEqual(['node', 'dist/main.js']);
    expect(args(runtime, 'ENTRYPOINT')).toEqual([]);
    expect(args(runtime, 'EXPOSE')).toEqual(['8080']);
    const users = args(runtime, 'USER');
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0].split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    if (gid !== undefined) expect(gid).toBeGreaterThan(0);
    // The same user the pods run as.
    const [container] = only(render('base'), 'Deployment').spec.template.spec.containers;
    expect(container.securityContext.runAsUser).toBe(uid);
  });

  it('bakes in no secrets', () => {
    const variables = stages.flatMap((stage) =>
      stage.instructions
        .filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')
        .flatMap((i) => [...i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:[=\s]|$)/g)].map((m) => m[1])),
    );
    expect(variables.filter((name) => /TOKEN|PASSWORD|SECRET|KEY|CREDENTIAL|SASL/i.test(name))).toEqual([]);
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  it('keeps local build output, dependencies, reports, caches and git out of the build context', () => {
    for (const path of ['node_modules', 'dist', 'reports', '.cache', '.git']) expect(patterns).toContain(path);
  });

  it('keeps what the build needs in the context', () => {
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src']) {
      expect(patterns).not.toContain(needed);
    }
  });
});
