import { gnetTsup } from '../../tools/tsup.base.mjs';

export default gnetTsup({ entry: { index: 'src/index.ts', cli: 'src/cli.ts', testing: 'src/testing/index.ts', 'thread-host': 'src/runtime/thread-host.ts' } });
