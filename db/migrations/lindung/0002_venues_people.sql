-- Venues and their category rules, health data, per-partner tokens and
-- check-ins. NIKs and tokens are never stored in clear: only keyed hashes.

-- Defaults from STATUS-RULES.md; rows are data, changeable without a release.
-- share_levelN: percent of capacity admitted at PPKM level N (0 = closed).
CREATE TABLE venue_categories (
  category          text PRIMARY KEY CHECK (category ~ '^[a-z][a-z0-9_]{0,31}$'),
  admits_green      boolean NOT NULL,
  admits_yellow     boolean NOT NULL,
  share_level2      smallint NOT NULL CHECK (share_level2 BETWEEN 0 AND 100),
  share_level3      smallint NOT NULL CHECK (share_level3 BETWEEN 0 AND 100),
  share_level4      smallint NOT NULL CHECK (share_level4 BETWEEN 0 AND 100),
  -- 'yes', 'no', 'with_parent', or 'with_parent_level2' (with a parent, and
  -- only at PPKM level 2).
  children_under_12 text NOT NULL
    CHECK (children_under_12 IN ('yes', 'no', 'with_parent', 'with_parent_level2'))
);

INSERT INTO venue_categories VALUES
  ('mall',       true, true,   70,  50, 25, 'with_parent_level2'),
  ('cinema',     true, false,  70,  50, 25, 'with_parent_level2'),
  ('restaurant', true, true,   75,  50, 25, 'yes'),
  ('transport',  true, true,  100, 100, 100, 'yes'),
  ('office',     true, true,   50,  25,  0, 'no'),
  ('worship',    true, true,   75,  50, 25, 'yes'),
  ('tourism',    true, false,  50,  25,  0, 'with_parent');

CREATE TABLE settings (
  name  text PRIMARY KEY,
  value text NOT NULL
);
-- The PPKM level whose capacity shares apply.
INSERT INTO settings VALUES ('ppkm_level', '2');

CREATE TABLE venues (
  venue_id  text PRIMARY KEY CHECK (venue_id ~ '^[\x20-\x7e]{1,64}$'),
  name      text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  category  text NOT NULL REFERENCES venue_categories (category),
  -- NULL means unlimited.
  capacity  integer CHECK (capacity >= 0),
  occupancy integer NOT NULL DEFAULT 0 CHECK (occupancy >= 0)
);

-- nik_hash = BLAKE2b-256 keyed with the 32-byte NIK key, over the 16 digits.
CREATE TABLE people (
  person_id  bigserial PRIMARY KEY,
  nik_hash   bytea NOT NULL UNIQUE CHECK (length(nik_hash) = 32),
  birth_date date,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE health_status (
  person_id  bigint PRIMARY KEY REFERENCES people (person_id),
  status     text NOT NULL CHECK (status IN ('green', 'yellow', 'red', 'black')),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- A token is issued per (partner, Link request); only its hash is kept.
CREATE TABLE tokens (
  token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
  partner_id text NOT NULL REFERENCES partners (partner_id),
  person_id  bigint NOT NULL REFERENCES people (person_id),
  request_id bytea NOT NULL CHECK (length(request_id) = 16),
  issued_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  UNIQUE (partner_id, request_id)
);
CREATE INDEX tokens_person ON tokens (person_id);

CREATE TABLE check_ins (
  id         bigserial PRIMARY KEY,
  person_id  bigint NOT NULL REFERENCES people (person_id),
  venue_id   text NOT NULL REFERENCES venues (venue_id),
  partner_id text NOT NULL REFERENCES partners (partner_id),
  request_id bytea NOT NULL CHECK (length(request_id) = 16),
  action     text NOT NULL CHECK (action IN ('check_in', 'check_out')),
  at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (partner_id, request_id)
);
CREATE INDEX check_ins_person_venue ON check_ins (person_id, venue_id, at);
