import type { AgentRole } from '../../auth/principal.js';
import type { AnnotationDenial } from '../../db/entities/index.js';
import { ValidationError } from '../../errors/index.js';

/** A namespace's tool policy, as the services use it. */
export interface ToolPolicyRules {
  /** `server_name/tool` globs (`*` any run of characters, `?` one); empty = every tool. */
  allow: string[];
  deny: string[];
  denyAnnotations: AnnotationDenial[];
  /** Live connections one agent may hold; `null` = no limit. */
  maxConnectionsPerAgent: number | null;
  quarantineNewTools: boolean;
}

/** The policy of a namespace nobody configured: every tool allowed, no limit, new tools usable at once. */
export const DEFAULT_TOOL_POLICY: ToolPolicyRules = Object.freeze({
  allow: [],
  deny: [],
  denyAnnotations: [],
  maxConnectionsPerAgent: null,
  quarantineNewTools: false,
});

const MAX_GLOBS = 200;
const MAX_GLOB_LENGTH = 300;
const MAX_ANNOTATION_RULES = 50;
const ROLES: readonly AgentRole[] = ['agent', 'admin'];

/**
 * Why the policy keeps `tool` of `serverName` from a caller of `role`, or
 * `null` when it does not. Deny wins over allow.
 */
export function policyDenial(
  policy: ToolPolicyRules,
  role: AgentRole,
  serverName: string,
  tool: { name: string; annotations?: Record<string, unknown> | null },
): string | null {
  const subject = `${serverName}/${tool.name}`;
  const denied = policy.deny.find((glob) => globMatches(glob, subject));
  if (denied !== undefined) return `denied by the namespace policy (${denied})`;
  if (policy.allow.length > 0 && !policy.allow.some((glob) => globMatches(glob, subject))) {
    return 'not in the namespace policy allow list';
  }
  for (const rule of policy.denyAnnotations) {
    if (rule.roles.includes(role) && tool.annotations?.[rule.annotation] === rule.value) {
      return `denied to role ${role} by the namespace policy (${rule.annotation}: ${JSON.stringify(rule.value)})`;
    }
  }
  return null;
}

/** `*` matches any run of characters, `?` exactly one; everything else itself. Linear-time wildcard matching. */
export function globMatches(glob: string, subject: string): boolean {
  let g = 0;
  let s = 0;
  let star = -1;
  let resume = 0;
  while (s < subject.length) {
    if (g < glob.length && (glob[g] === '?' || glob[g] === subject[s])) {
      g += 1;
      s += 1;
    } else if (g < glob.length && glob[g] === '*') {
      star = g;
      resume = s;
      g += 1;
    } else if (star >= 0) {
      g = star + 1;
      resume += 1;
      s = resume;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g += 1;
  return g === glob.length;
}

/** A policy as an admin submitted it, checked field by field (400 VALIDATION_ERROR naming the field). */
export interface ToolPolicyInput {
  allow?: string[] | null;
  deny?: string[] | null;
  denyAnnotations?: { annotation: string; value?: unknown; roles: string[] }[] | null;
  maxConnectionsPerAgent?: number | null;
  quarantineNewTools?: boolean | null;
}

export function validateToolPolicy(input: ToolPolicyInput): ToolPolicyRules {
  const maxConnections = input.maxConnectionsPerAgent ?? null;
  if (maxConnections !== null && (!Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > 10_000)) {
    throw ValidationError.invalid('maxConnectionsPerAgent', 'must be an integer from 1 to 10000, or null for no limit');
  }
  return {
    allow: validGlobs('allow', input.allow ?? []),
    deny: validGlobs('deny', input.deny ?? []),
    denyAnnotations: validAnnotationRules(input.denyAnnotations ?? []),
    maxConnectionsPerAgent: maxConnections,
    quarantineNewTools: input.quarantineNewTools ?? false,
  };
}

function validGlobs(field: string, globs: string[]): string[] {
  if (globs.length > MAX_GLOBS) throw ValidationError.invalid(field, `must have at most ${MAX_GLOBS} entries`);
  globs.forEach((glob, i) => {
    if (glob.length < 3 || glob.length > MAX_GLOB_LENGTH || !glob.includes('/')) {
      throw ValidationError.invalid(`${field}.${i}`, `must be a server_name/tool glob of 3-${MAX_GLOB_LENGTH} characters`);
    }
  });
  return [...new Set(globs)];
}

function validAnnotationRules(rules: NonNullable<ToolPolicyInput['denyAnnotations']>): AnnotationDenial[] {
  if (rules.length > MAX_ANNOTATION_RULES)
    throw ValidationError.invalid('denyAnnotations', `must have at most ${MAX_ANNOTATION_RULES} rules`);
  return rules.map((rule, i) => {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(rule.annotation)) {
      throw ValidationError.invalid(`denyAnnotations.${i}.annotation`, 'must be an annotation name such as destructiveHint');
    }
    if (!['boolean', 'string', 'number'].includes(typeof rule.value)) {
      throw ValidationError.invalid(`denyAnnotations.${i}.value`, 'must be a boolean, string or number');
    }
    if (rule.roles.length === 0 || rule.roles.some((role) => !ROLES.includes(role as AgentRole))) {
      throw ValidationError.invalid(`denyAnnotations.${i}.roles`, 'must list one or more of agent, admin');
    }
    return { annotation: rule.annotation, value: rule.value, roles: [...new Set(rule.roles)] };
  });
}
