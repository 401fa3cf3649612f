-- Place of birth of an insured person (what a PID provider attests, PID Rulebook §3.1.5): the
-- country (ISO 3166-1 alpha-2) and the locality. Both optional; NULL for records made before.
ALTER TABLE persons ADD COLUMN birth_country TEXT;
ALTER TABLE persons ADD COLUMN birth_place TEXT;
