/**
 * The simulator plays Datadog for the tests and the benchmark: if it shared the pipeline's code (the
 * category registry, its parameters, its layout) it would share the pipeline's mistakes, and the tests
 * would pass against them. So nothing under local/simulator/ imports from lambdas/ or infra/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SIMULATOR = path.join(ROOT, 'local/simulator');

/** Module specifiers of static imports and re-exports, side-effect imports and dynamic imports. */
function specifiers(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1] as string));
}

/** Every import of every simulator module, resolved against the repository root when relative. */
function simulatorImports(): Array<{ file: string; specifier: string; resolved: string }> {
  return readdirSync(SIMULATOR, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .flatMap((file) => {
      const absolute = path.join(SIMULATOR, file);
      return specifiers(readFileSync(absolute, 'utf8')).map((specifier) => ({
        file: path.relative(ROOT, absolute),
        specifier,
        resolved: specifier.startsWith('.')
          ? path.relative(ROOT, path.resolve(path.dirname(absolute), specifier))
          : specifier,
      }));
    });
}

describe('Module: local/simulator, independent of the pipeline', () => {
  it('finds static, re-exported, side-effect and dynamic imports', () => {
    // Prepare
    const source = [
      "import { CATEGORIES } from '../../lambdas/categories.ts';",
      "import type {\n  LakeSettings,\n} from '../../infra/config.ts';",
      "export * from './model.ts';",
      "import '../node20.ts';",
      "const m = await import('node:fs');",
    ].join('\n');

    // Act
    const found = specifiers(source);

    // Assess
    expect(found.sort()).toEqual(
      [
        '../../infra/config.ts',
        '../../lambdas/categories.ts',
        '../node20.ts',
        './model.ts',
        'node:fs',
      ].sort(),
    );
  });

  it('imports nothing from lambdas/ or infra/', () => {
    // Act
    const imports = simulatorImports();

    // Assess
    expect(imports.length).toBeGreaterThan(10);
    const offending = imports.filter(({ resolved }) => /^(lambdas|infra)(\/|$)/.test(resolved));
    expect(offending).toEqual([]);
  });

  it('imports only Node built-ins and its own modules, so nothing reaches the pipeline indirectly', () => {
    // Act
    const outside = simulatorImports().filter(
      ({ specifier, resolved }) => !specifier.startsWith('node:') && !resolved.startsWith('local/simulator/'),
    );

    // Assess
    expect(outside).toEqual([]);
  });
});
