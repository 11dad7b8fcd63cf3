/** Paths of the shared datasets next to the repository (absent in a user's fresh clone: tests that need them skip). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/helpers/ → repository root → ../shared/data/bccd */
export const BCCD = resolve(fileURLToPath(new URL('../../../../shared/data/bccd', import.meta.url)));
export const HAS_BCCD = existsSync(BCCD);
