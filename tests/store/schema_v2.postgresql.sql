-- The version 2 schema as released, to prove its databases upgrade in place (postgresql).

CREATE TABLE actions (
	id SERIAL NOT NULL, 
	at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
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

CREATE INDEX ix_actions_at ON actions (at);

CREATE TABLE cards (
	id SERIAL NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	issue_id VARCHAR(32) NOT NULL, 
	route_id INTEGER, 
	project VARCHAR(200) DEFAULT '' NOT NULL, 
	first_seen TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	state VARCHAR(8) NOT NULL, 
	kind VARCHAR(8) DEFAULT 'card' NOT NULL, 
	message_ts VARCHAR(32), 
	claim_token VARCHAR(64), 
	claimed_at TIMESTAMP WITHOUT TIME ZONE, 
	posted_at TIMESTAMP WITHOUT TIME ZONE, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	last_error VARCHAR(200), 
	rendered VARCHAR(64), 
	status VARCHAR(32), 
	substatus VARCHAR(40), 
	last_action TEXT, 
	checked_at TIMESTAMP WITHOUT TIME ZONE, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_cards_channel_issue UNIQUE (channel, issue_id)
);

CREATE INDEX ix_cards_issue ON cards (issue_id);

CREATE INDEX ix_cards_state_channel ON cards (state, channel);

CREATE TABLE digest_runs (
	id SERIAL NOT NULL, 
	digest_id INTEGER NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	period_start TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	period_end TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	state VARCHAR(8) NOT NULL, 
	late BOOLEAN DEFAULT false NOT NULL, 
	message_ts VARCHAR(32), 
	claim_token VARCHAR(64), 
	claimed_at TIMESTAMP WITHOUT TIME ZONE, 
	posted_at TIMESTAMP WITHOUT TIME ZONE, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_digest_runs_period UNIQUE (digest_id, period_end)
);

CREATE TABLE digests (
	id SERIAL NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	cron VARCHAR(100) NOT NULL, 
	timezone VARCHAR(64) NOT NULL, 
	projects VARCHAR(2000) DEFAULT '' NOT NULL, 
	top INTEGER DEFAULT '10' NOT NULL, 
	source VARCHAR(8) NOT NULL, 
	created_by VARCHAR(32), 
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_digests_natural UNIQUE (channel, cron, timezone, projects, source)
);

CREATE TABLE leases (
	name VARCHAR(64) NOT NULL, 
	holder VARCHAR(64) NOT NULL, 
	expires_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	acquired_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (name)
);

CREATE TABLE replies (
	id SERIAL NOT NULL, 
	card_id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	issue_id VARCHAR(32) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	state VARCHAR(8) NOT NULL, 
	message_ts VARCHAR(32), 
	claim_token VARCHAR(64), 
	claimed_at TIMESTAMP WITHOUT TIME ZONE, 
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	posted_at TIMESTAMP WITHOUT TIME ZONE, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_replies_card_seq UNIQUE (card_id, seq)
);

CREATE TABLE routes (
	id SERIAL NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	projects VARCHAR(2000) DEFAULT '' NOT NULL, 
	query VARCHAR(1000) NOT NULL, 
	environment VARCHAR(200) DEFAULT '' NOT NULL, 
	mention VARCHAR(500) DEFAULT '' NOT NULL, 
	source VARCHAR(8) NOT NULL, 
	created_by VARCHAR(32), 
	watermark TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	polled_until TIMESTAMP WITHOUT TIME ZONE, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_routes_natural UNIQUE (channel, projects, query, environment)
);

CREATE TABLE schema_version (
	version INTEGER NOT NULL
);
