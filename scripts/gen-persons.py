#!/usr/bin/env python3
"""Write N synthetic insured persons as CSV for `esspass import` benchmarks.
Usage: scripts/gen-persons.py N > persons.csv   (deterministic; about 1.2 % of rows are rejected on
purpose: coverage that starts before the person's birth)."""
import csv, random, sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
random.seed(7)
fam = ["Novak", "Horvat", "Kovač", "Krajnc", "Zupančič", "Papadopoulos", "Rossi", "García", "Müller", "Dubois"]
giv = ["Živa", "Ana", "Marko", "Luka", "Georgios", "Maria", "Jan", "Eva", "Nina", "Tomaž"]
w = csv.writer(sys.stdout)
w.writerow(["personal_number", "family_name", "given_name", "birth_date", "nationality", "residence", "coverage_kind", "coverage_start", "coverage_end"])
for i in range(n):
    w.writerow([f"SI{i:010d}", random.choice(fam), random.choice(giv), f"{random.randint(1940, 2020)}-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}", "SI", "SI", "health", "2020-01-01", ""])
