import type { CatalogueReview, NewPin, PinView, PreviousTool, ToolReview } from '../../db/repositories/catalogue-review.types.js';

export type { CatalogueReview, NewPin, PinView, PreviousTool, ToolReview } from '../../db/repositories/catalogue-review.types.js';
import { canonicalDefinition, definitionHash, type ToolDefinition } from '../../common/tool-definition.js';
import { scanToolDefinition } from './description-scan.js';

/** A listed tool with its hash and scan findings, computed before the refresh's transaction. */
export interface AssessedTool {
  name: string;
  definitionHash: string;
  findings: string[];
  definition: Record<string, unknown>;
}

/** Tools assessed between two yields to the event loop: a catalogue of thousands must not stall other requests. */
const ASSESS_CHUNK = 50;

/** Hashes and scans a listing, yielding to the event loop every ASSESS_CHUNK tools. */
export async function assessTools(tools: readonly ToolDefinition[]): Promise<AssessedTool[]> {
  const assessed: AssessedTool[] = [];
  for (let start = 0; start < tools.length; start += ASSESS_CHUNK) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    for (const tool of tools.slice(start, start + ASSESS_CHUNK)) {
      assessed.push({
        name: tool.name,
        definitionHash: definitionHash(tool),
        findings: scanToolDefinition(tool).map((f) => `${f.reason} (${f.field})`),
        definition: canonicalDefinition(tool),
      });
    }
  }
  return assessed;
}

export interface CatalogueReviewInput {
  incoming: readonly AssessedTool[];
  pins: ReadonlyMap<string, PinView>;
  /** The stored catalogue before this listing, by name (rows from before pinning existed have no pin). */
  previous: ReadonlyMap<string, PreviousTool>;
  /** The connection's first listing (create): its tools are what its owner chose to connect. */
  firstDiscovery: boolean;
  /** Namespace policy: a tool new to a known connection waits for approval. @default false */
  quarantineNewTools: boolean;
}

export const REASON_CHANGED = 'definition changed since it was approved';
export const REASON_REJECTED = 'this definition was rejected by an admin';
export const REASON_NEW_TOOL = 'new tool on a known connection (namespace policy: new tools start quarantined)';
export const REASON_AWAITING = 'awaiting approval';

/**
 * Decides, for each tool of a fresh listing, whether it may be used: a tool
 * matching its pin is approved; one matching a rejected definition stays
 * rejected; any other change is quarantined until an admin decides. A name
 * never seen before is pinned as listed, unless the scan flags it or the
 * policy wants new tools reviewed.
 */
export function reviewCatalogue(input: CatalogueReviewInput): CatalogueReview {
  const newPins: NewPin[] = [];
  const reviews = input.incoming.map((tool): ToolReview => {
    const { definitionHash: hash, findings } = tool;
    const pin = input.pins.get(tool.name);
    if (pin?.pinnedHash === hash) return approved(hash);
    if (pin?.rejectedHash === hash) return held(hash, 'rejected', [REASON_REJECTED]);
    if (pin?.pinnedHash) return held(hash, 'quarantined', [REASON_CHANGED, ...findings]);
    if (pin) return held(hash, 'quarantined', findings.length > 0 ? findings : [REASON_AWAITING]);
    if (findings.length > 0) {
      newPins.push({ toolName: tool.name, pinnedHash: null, pinnedDefinition: null });
      return held(hash, 'quarantined', findings);
    }
    const known = input.firstDiscovery || input.previous.has(tool.name);
    if (!known && input.quarantineNewTools) {
      newPins.push({ toolName: tool.name, pinnedHash: null, pinnedDefinition: null });
      return held(hash, 'quarantined', [REASON_NEW_TOOL]);
    }
    newPins.push({ toolName: tool.name, pinnedHash: hash, pinnedDefinition: tool.definition });
    return approved(hash);
  });
  const newlyQuarantined = input.incoming
    .filter((tool, i) => {
      const review = reviews[i]!;
      const before = input.previous.get(tool.name);
      return (
        review.reviewState === 'quarantined' && !(before?.reviewState === 'quarantined' && before.definitionHash === review.definitionHash)
      );
    })
    .map((tool) => tool.name);
  return { reviews, newPins, newlyQuarantined };
}

function approved(hash: string): ToolReview {
  return { definitionHash: hash, reviewState: 'approved', reviewReasons: null };
}

function held(hash: string, state: ToolReview['reviewState'], reasons: string[]): ToolReview {
  return { definitionHash: hash, reviewState: state, reviewReasons: reasons };
}
