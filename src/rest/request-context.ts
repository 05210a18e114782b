import type { Principal } from '../auth/principal.js';
import '../http/request-context.js';

export function requirePrincipal(principal: Principal | undefined): Principal {
  if (!principal) throw new Error('route is missing the authentication pre-handler');
  return principal;
}
