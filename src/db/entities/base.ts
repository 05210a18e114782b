import { p } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

/** Shared columns: UUID primary key and audit timestamps (UTC). */
export const baseProperties = {
  id: p
    .uuid()
    .primary()
    .onCreate(() => randomUUID()),
  createdAt: p.datetime().onCreate(() => new Date()),
  updatedAt: p
    .datetime()
    .onCreate(() => new Date())
    .onUpdate(() => new Date()),
};
