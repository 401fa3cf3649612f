-- The EESSI case an application waits on (the LA_BUC_01 of an Art 16 exception request) or was
-- forwarded in: an incoming answer in that case finds its application.
ALTER TABLE applications ADD COLUMN eessi_case TEXT;
CREATE INDEX applications_eessi_case ON applications(eessi_case);
