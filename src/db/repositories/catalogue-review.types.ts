import type { ToolReviewState } from '../entities/index.js';

/**
 * What a catalogue refresh stores about each tool's review (tool governance).
 * The decision itself is the services' (services/tool-governance/catalogue-review.ts);
 * the repository only reads what it compares against and writes the outcome.
 */

/** What is known of a tool name on a connection before this listing. */
export interface PinView {
  pinnedHash: string | null;
  rejectedHash: string | null;
}

export interface PreviousTool {
  definitionHash: string | null;
  reviewState: ToolReviewState;
}

export interface ToolReview {
  definitionHash: string;
  reviewState: ToolReviewState;
  reviewReasons: string[] | null;
}

export interface NewPin {
  toolName: string;
  pinnedHash: string | null;
  pinnedDefinition: Record<string, unknown> | null;
}

export interface CatalogueReview {
  /** One per incoming tool, in the same order. */
  reviews: ToolReview[];
  /** Pins to create for names never seen on this connection. */
  newPins: NewPin[];
  /** Tools this listing put in quarantine (not those already held with the same definition): what reviewers are told about. */
  newlyQuarantined: string[];
}
