import { gnetTsup } from '../../tools/tsup.base.mjs';

export default gnetTsup({ entry: ['src/index.ts', 'src/cli.ts'] });
