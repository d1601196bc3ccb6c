import { gnetTsup } from '../../tools/tsup.base.mjs';

export default gnetTsup();
