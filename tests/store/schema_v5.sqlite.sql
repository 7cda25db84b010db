-- Schema version 5 as SQLite stores it, created by that release's code (tables, then indexes).

CREATE TABLE actions (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	slack_user VARCHAR(32) NOT NULL, 
	slack_team VARCHAR(32) DEFAULT '' NOT NULL, 
	sentry_user VARCHAR(64), 
	issue_ids VARCHAR(2000) DEFAULT '' NOT NULL, 
	action VARCHAR(32) NOT NULL, 
	arg VARCHAR(200) DEFAULT '' NOT NULL, 
	result VARCHAR(16) NOT NULL, 
	detail VARCHAR(500) DEFAULT '' NOT NULL, 
	request_key VARCHAR(200), 
	PRIMARY KEY (id), 
	UNIQUE (request_key)
);

CREATE TABLE cards (
	id INTEGER NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	issue_id VARCHAR(32) NOT NULL, 
	route_id INTEGER, 
	project VARCHAR(200) DEFAULT '' NOT NULL, 
	first_seen DATETIME NOT NULL, 
	rendered VARCHAR(64), 
	status VARCHAR(32), 
	substatus VARCHAR(40), 
	last_action TEXT, 
	checked_at DATETIME, 
	outbox_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_cards_channel_issue UNIQUE (channel, issue_id)
);

CREATE TABLE comment_marks (
	card_id INTEGER NOT NULL, 
	num_comments BIGINT NOT NULL, 
	last_comment_id BIGINT, 
	PRIMARY KEY (card_id)
);

CREATE TABLE comment_relays (
	id INTEGER NOT NULL, 
	card_id INTEGER NOT NULL, 
	comment_id BIGINT NOT NULL, 
	issue_id VARCHAR(32) NOT NULL, 
	author VARCHAR(200) NOT NULL, 
	body TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	outbox_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_comment_relays_card_comment UNIQUE (card_id, comment_id)
);

CREATE TABLE digest_runs (
	id INTEGER NOT NULL, 
	digest_id INTEGER NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	period_start DATETIME NOT NULL, 
	period_end DATETIME NOT NULL, 
	late BOOLEAN DEFAULT 0 NOT NULL, 
	outbox_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_digest_runs_period UNIQUE (digest_id, period_end)
);

CREATE TABLE digests (
	id INTEGER NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	cron VARCHAR(100) NOT NULL, 
	timezone VARCHAR(64) NOT NULL, 
	projects VARCHAR(2000) DEFAULT '' NOT NULL, 
	top INTEGER DEFAULT '10' NOT NULL, 
	source VARCHAR(8) NOT NULL, 
	created_by VARCHAR(32), 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_digests_natural UNIQUE (channel, cron, timezone, projects, source)
);

CREATE TABLE leases (
	name VARCHAR(64) NOT NULL, 
	holder VARCHAR(64) NOT NULL, 
	expires_at DATETIME NOT NULL, 
	acquired_at DATETIME NOT NULL, 
	PRIMARY KEY (name)
);

CREATE TABLE outbox (
	id INTEGER NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	"key" VARCHAR(200) NOT NULL, 
	producer VARCHAR(16) NOT NULL, 
	state VARCHAR(8) NOT NULL, 
	posted_as VARCHAR(16), 
	thread_ts VARCHAR(32), 
	message_ts VARCHAR(32), 
	claim_token VARCHAR(64), 
	claimed_at DATETIME, 
	posted_at DATETIME, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	last_error VARCHAR(200), 
	due_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_outbox_channel_key UNIQUE (channel, "key")
);

CREATE TABLE own_comments (
	comment_id BIGINT NOT NULL, 
	issue_id VARCHAR(32) NOT NULL, 
	author_id VARCHAR(32), 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (comment_id)
);

CREATE TABLE replies (
	id INTEGER NOT NULL, 
	card_id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	issue_id VARCHAR(32) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	outbox_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_replies_card_seq UNIQUE (card_id, seq)
);

CREATE TABLE routes (
	id INTEGER NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	projects VARCHAR(2000) DEFAULT '' NOT NULL, 
	"query" VARCHAR(1000) NOT NULL, 
	environment VARCHAR(200) DEFAULT '' NOT NULL, 
	mention VARCHAR(500) DEFAULT '' NOT NULL, 
	source VARCHAR(8) NOT NULL, 
	created_by VARCHAR(32), 
	watermark DATETIME NOT NULL, 
	polled_until DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_routes_natural UNIQUE (channel, projects, "query", environment)
);

CREATE TABLE schema_version (
	version INTEGER NOT NULL
);

CREATE TABLE webhook_jobs (
	id INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	issue_id VARCHAR(32) NOT NULL, 
	route BOOLEAN DEFAULT 0 NOT NULL, 
	redraw BOOLEAN DEFAULT 0 NOT NULL, 
	seq INTEGER DEFAULT '1' NOT NULL, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	received_at DATETIME NOT NULL, 
	due_at DATETIME NOT NULL, 
	claimed_by VARCHAR(64), 
	claimed_until DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_webhook_jobs_kind_issue UNIQUE (kind, issue_id)
);

CREATE INDEX ix_actions_at ON actions (at);

CREATE INDEX ix_cards_issue ON cards (issue_id);

CREATE INDEX ix_cards_outbox ON cards (outbox_id);

CREATE INDEX ix_outbox_posted ON outbox (state, posted_as, posted_at);

CREATE INDEX ix_outbox_state_producer ON outbox (state, producer);

CREATE INDEX ix_webhook_jobs_due ON webhook_jobs (due_at);
