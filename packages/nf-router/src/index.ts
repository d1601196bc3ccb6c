/**
 * `@gnet/nf-router`: an IPv4 router NF. The library API: the DIR-24-8 table ({@link Lpm}), the
 * route loaders, the config parser and the per-packet {@link Forwarder}. The NF itself is the
 * `./nf` entry (`gnet run --chain router`).
 *
 * @packageDocumentation
 */
export { lpmPtxPath } from './kernels.js';
export { Lpm, LPM_VALID, LPM_EXT, LPM_VALUE, LPM_MAX_NEXTHOP, LPM_BATCH, type LpmOptions, type LpmDirty } from './lpm.js';
export {
  parseRoutes,
  parseIp4,
  ip4ToString,
  readRoutesText,
  addRoutes,
  loadRoutesFile,
  applyRouteUpdate,
  RouteParseError,
  type Route,
  type NextHopRef,
  type ParseRoutesOptions,
  type ParsedRoutes,
  type RouteUpdate,
} from './routes.js';
export { parseRouterConfig, routerSection, type RouterConfig, type NextHop, type OtherPolicy } from './config.js';
export { Forwarder, ROUTER_COUNTERS } from './forward.js';
