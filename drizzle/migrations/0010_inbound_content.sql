ALTER TABLE "messages" ADD COLUMN "reply_to" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "mentions" jsonb;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "proto" jsonb;--> statement-breakpoint
CREATE INDEX "messages_reply_to_idx" ON "messages" USING btree ("connection_pk","reply_to") WHERE "messages"."reply_to" is not null;--> statement-breakpoint
-- Rows stored before: a received message's content was its proto JSON (what quoting and forwarding it still need),
-- and our own sends kept what they quote and mention inside content. Both move to the new columns.
UPDATE "messages" SET "proto" = "content" WHERE "direction" = 'inbound' AND "type" <> 'text' AND "content" IS NOT NULL AND jsonb_typeof("content") = 'object';--> statement-breakpoint
UPDATE "messages" SET
  "reply_to" = nullif(left(coalesce("content"->>'reply_to', jsonb_path_query_first("content", '$.*.contextInfo.stanzaId') #>> '{}'), 128), ''),
  "mentions" = coalesce(
    CASE WHEN jsonb_typeof("content"->'mentions') = 'array' THEN "content"->'mentions' END,
    CASE WHEN jsonb_typeof(jsonb_path_query_first("content", '$.*.contextInfo.mentionedJid')) = 'array' THEN jsonb_path_query_first("content", '$.*.contextInfo.mentionedJid') END
  )
WHERE "content" IS NOT NULL AND jsonb_typeof("content") = 'object';
