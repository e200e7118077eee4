/**
 * Resolves class references `"<specifier>#<Export>"` by dynamic import. The specifier is a
 * package specifier, a path relative to the host's root directory, an absolute path or a
 * `file:` URL. Anything that cannot be imported becomes a {@link ClassNotFoundError}.
 */
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isAgentClass, type AgentClass } from '../core/agent.ts';
import { ClassNotFoundError } from '../core/errors.ts';

export interface ClassRef {
  specifier: string;
  exportName: string;
}

export function parseClassRef(ref: string): ClassRef {
  const hash = ref.lastIndexOf('#');
  if (hash <= 0 || hash === ref.length - 1) {
    throw new ClassNotFoundError(
      `agent class '${ref}' must look like '<module>#<ExportName>', e.g. './agents/counter.js#Counter'`,
    );
  }
  return { specifier: ref.slice(0, hash), exportName: ref.slice(hash + 1) };
}

function isPathLike(specifier: string): boolean {
  return specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || isAbsolute(specifier);
}

/** The URL or bare specifier to import for `specifier`, resolved against `root`. */
export function resolveSpecifier(specifier: string, root: string): string {
  if (specifier.startsWith('file:')) return specifier;
  if (isPathLike(specifier)) return pathToFileURL(resolve(root, specifier)).href;
  return specifier;
}

const cache = new Map<string, AgentClass>();

async function importModule(specifier: string, root: string): Promise<Record<string, unknown>> {
  const target = resolveSpecifier(specifier, root);
  try {
    return (await import(target)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: string }).code;
    // Bare package specifiers resolve from the host root's node_modules when taglets' own
    // location cannot see them (the user's project installs its agent packages itself).
    if (target === specifier && (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED')) {
      let resolved: string | undefined;
      try {
        resolved = createRequire(resolve(root, 'package.json')).resolve(specifier);
      } catch {
        /* fall through to the original error */
      }
      if (resolved) return (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
    }
    throw err;
  }
}

/** Imports and checks an agent class. */
export async function loadAgentClass(ref: string, root: string): Promise<AgentClass> {
  const key = `${root}\0${ref}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const { specifier, exportName } = parseClassRef(ref);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(specifier, root);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ClassNotFoundError(`cannot import '${specifier}' for agent class '${ref}' (root ${root}): ${reason}`);
  }
  const cls = mod[exportName];
  if (cls === undefined) {
    const names = Object.keys(mod).join(', ') || 'none';
    throw new ClassNotFoundError(`module '${specifier}' has no export '${exportName}' (exports: ${names})`);
  }
  if (!isAgentClass(cls)) {
    throw new ClassNotFoundError(`'${ref}' is not an Agent subclass (extend Agent from 'taglets')`);
  }
  cache.set(key, cls);
  return cls;
}
