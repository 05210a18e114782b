/**
 * The description scan's rules — data only, one entry per rule, each with a
 * test in test/services/tool-governance/description-rules.test.ts. A tool whose
 * name, title, description or parameter descriptions match any rule starts
 * quarantined, with the rule's `reason` shown to its reviewers.
 *
 * Characters are matched as code points (`u` flag); text rules are matched
 * case-insensitively against the text with runs of whitespace folded to one
 * space. They aim at text addressed to the model, not at what a tool does: a
 * file server may say "read a file"; a description may not tell the model to
 * read ~/.ssh or to keep something from the user. Zero findings on the real
 * servers of eval/tool-search is a tested requirement.
 */
export interface DescriptionRule {
  id: string;
  reason: string;
  pattern: RegExp;
}

export const DESCRIPTION_RULES: readonly DescriptionRule[] = [
  {
    id: 'zero-width',
    reason: 'contains zero-width or invisible characters',
    pattern: /[\u200B-\u200D\u2060-\u2064\uFEFF\u180E\u00AD]/u,
  },
  {
    id: 'bidi-control',
    reason: 'contains bidirectional text controls',
    pattern: /[\u200E\u200F\u202A-\u202E\u2066-\u2069\u061C]/u,
  },
  {
    id: 'unicode-tags',
    reason: 'contains Unicode tag characters (invisible text)',
    pattern: /[\u{E0000}-\u{E007F}]/u,
  },
  {
    id: 'ignore-instructions',
    reason: 'tells the model to ignore or override its instructions',
    pattern:
      /\b(?:ignore|disregard|forget|override)\b(?: all| any| the| your)*(?: previous| prior| above| earlier| other| system| original)+ (?:instructions?|prompts?|rules|directions|guidelines)/iu,
  },
  {
    id: 'conceal-from-user',
    reason: 'asks the model to hide something from the user',
    pattern:
      /\b(?:do not|don't|never|without) (?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|show(?:ing)?|reveal(?:ing)?|notify(?:ing)?|alert(?:ing)?)(?: it to)? (?:the |your )?user\b|\b(?:hide|conceal|keep) (?:this|it|that)?(?: secret)? from the user\b/iu,
  },
  {
    id: 'hidden-instruction-tag',
    reason: 'carries instruction markup aimed at the model (<IMPORTANT>, <system>, …)',
    pattern: /<\/?\s*(?:important|system|instructions?|secret|hidden|admin)\s*>/iu,
  },
  {
    id: 'sensitive-files',
    reason: 'refers to credential or configuration files (~/.ssh, .env, mcp.json, …)',
    pattern:
      /(?:~\/\.ssh|\bid_(?:rsa|ed25519|ecdsa|dsa)\b|\/etc\/(?:passwd|shadow)\b|~\/\.aws\b|\.aws\/credentials|(?:^|[\s"'`(/])\.env\b|\bmcp\.json\b|claude_desktop_config|\.cursor\/|\.netrc\b|\.npmrc\b|\.git-credentials)/iu,
  },
  {
    id: 'before-using-this-tool',
    reason: 'tells the model what else to do before or instead of using the tool',
    pattern:
      /\b(?:before|prior to|instead of) (?:using|calling|invoking|running) (?:this|the) tool,? (?:you )?(?:must |should |always |first )*(?:read|call|send|include|pass|fetch|open|collect)\b/iu,
  },
  {
    id: 'send-data-elsewhere',
    reason: 'asks the model to send data to another address',
    pattern:
      /\b(?:send|forward|upload|post|exfiltrate|transmit|copy|email|leak)\b[^.\n]{0,80}\b(?:to|at|via)\b\s*(?:https?:\/\/|[\w.+-]+@[\w-]+\.[\w.]+)/iu,
  },
  {
    id: 'role-hijack',
    reason: 'addresses the model as if it were the system or a new role',
    pattern: /\b(?:you are now|from now on,? you|act as (?:an? )?(?:admin|root|system)|new instructions:|system prompt:)/iu,
  },
];
