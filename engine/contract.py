"""The stable vocabulary of contract.md: case variables and milestones.

Diagrams, forms, scenarios and the API all speak it; a diagram may add its own
names but must use these for these meanings.
"""

CASE_VARIABLES = frozenset({
    "levensbedreigend", "betreft_beroepskracht", "kindcheck_nodig", "minderjarige_kinderen",
    "zorgen_na_kindcheck", "advies_veilig_thuis", "gesprek_uitzondering", "vermoeden", "acute_onveiligheid",
    "structurele_onveiligheid", "hulp_mogelijk", "meewerken", "duurzame_veiligheid", "besluit",
    "vt_terugkoppeling_ontvangen", "hulp_geweigerd", "verhuisd", "toestemming_overdracht",
    "bekend_bij_veilig_thuis", "risico_hoog_en_acuut", "professional_kan_niet_vergroten",
    "geen_overeenstemming", "vt_heeft_persoonsgegevens", "evaluatiedatum", "regie",
    "disclosure", "mdo_besluit_ambtshalve", "agressie_tegen_medewerkers", "crisisdienst_veilig_thuis",
})

MILESTONES = frozenset({
    "acute_actie", "interne_route", "kindcheck_zorgen", "afgesloten", "melding_veilig_thuis",
    "hulp_georganiseerd", "herhaalde_melding", "duurzaam_veilig", "vt_terugkoppeling_te_laat",
    "warme_overdracht", "melding_nieuwe_regio", "overdracht_door_veilig_thuis", "ambtshalve_melding",
})

LANES = ("professional", "aandachtsfunctionaris", "leidinggevende", "veilig_thuis")


def milestone_name(element_id: str | None) -> str | None:
    """The milestone an element id stands for (suffix after `__` dropped), or None."""
    if not element_id:
        return None
    name = element_id.split("__", 1)[0]
    return name if name in MILESTONES else None
