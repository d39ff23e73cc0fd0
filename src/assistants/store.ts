// Assistant profiles on disk: <home>/assistants/<id>.yaml, written atomically.
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { checkName } from '../rag/index.js';
import { parseProfile, profileToYaml, type Profile } from './profile.js';

export function assistantsDir(home: string): string {
  return path.join(home, 'assistants');
}

export function profilePath(home: string, id: string): string {
  return path.join(assistantsDir(home), `${checkName('assistant', id)}.yaml`);
}

export function listProfiles(home: string): string[] {
  const dir = assistantsDir(home);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}

export function loadProfile(home: string, id: string): Profile {
  const file = profilePath(home, id);
  if (!fs.existsSync(file)) {
    const known = listProfiles(home);
    throw new ShitateError('E_ASSISTANT_NOT_FOUND', `assistant "${id}": expected ${file}, found no such file${known.length ? ` (known: ${known.join(', ')})` : ''}`,
      `create it with: shitate assistant new ${id} --provider openai --model MODEL`);
  }
  return parseProfile(id, fs.readFileSync(file, 'utf8'), file);
}

export function saveProfile(home: string, p: Profile, header = ''): string {
  const file = profilePath(home, p.id);
  writeFileAtomic(file, header + profileToYaml(p));
  return file;
}
