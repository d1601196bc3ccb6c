import { gnetTsup } from '../../tools/tsup.base.mjs';

export default gnetTsup({ entry: ['src/index.ts', 'src/nf.ts', 'src/cli.ts', 'src/build-worker.ts'] });
