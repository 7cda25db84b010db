-- The version 1 schema as released, to prove older databases upgrade in place.
CREATE TABLE cards (
	id INTEGER NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	issue_id VARCHAR(32) NOT NULL, 
	route_id INTEGER, 
	project VARCHAR(200) DEFAULT '' NOT NULL, 
	first_seen DATETIME NOT NULL, 
	state VARCHAR(8) NOT NULL, 
	kind VARCHAR(8) DEFAULT 'card' NOT NULL, 
	message_ts VARCHAR(32), 
	claim_token VARCHAR(64), 
	claimed_at DATETIME, 
	posted_at DATETIME, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	last_error VARCHAR(200), 
	rendered VARCHAR(64), 
	status VARCHAR(32), 
	substatus VARCHAR(40), 
	last_action TEXT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_cards_channel_issue UNIQUE (channel, issue_id)
);

CREATE INDEX ix_cards_state_channel ON cards (state, channel);

CREATE INDEX ix_cards_issue ON cards (issue_id);

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

INSERT INTO schema_version (version) VALUES (1);
