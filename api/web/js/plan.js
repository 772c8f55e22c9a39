// What the planner understood, as chips: from the planner's `agent.reasoning` event, which carries
// the audience it settled on (the model's or the rules' reading, whichever the job really runs).

import { chip, h } from "./dom.js";

const REGION_NAMES = { EU: "EU", EUROPE: "Europe", NA: "North America", LATAM: "Latin America", APAC: "Asia-Pacific", MEA: "Middle East & Africa" };

function group(label, values, kind) {
  if (!values || values.length === 0) return null;
  return h("div", { class: "chip-group" }, h("span", { class: "chip-label" }, label), values.map((v) => chip(v, kind)));
}

/** Chips for one plan: languages, subject, region, activity window, role, exclusions, lead count. */
export function planChips(audience, maxProspects, text) {
  const a = audience || {};
  // Topics are the planner's expansion of a domain into GitHub tags: shown only when no domain names the subject.
  const named = [...(a.domains || []).map((d) => d.replaceAll("_", " ")), ...(a.keywords || [])];
  const subject = named.length ? named : [...(a.topics || [])];
  const regions = [...(a.target_regions || []).map((r) => REGION_NAMES[r] || r), ...(a.target_cities || [])];
  const excluded = [
    ...(a.exclude_companies || []),
    ...(a.exclude_regions || []).map((r) => REGION_NAMES[r] || r),
    ...(a.exclude_cities || []),
    ...(a.exclude_domains || []).map((d) => d.replaceAll("_", " ")),
    ...(a.exclude_keywords || []),
  ];
  const activity = a.activity_days ? [`active in the last ${a.activity_days} days${a.activity_scope === "anywhere" ? " (anywhere)" : ""}`] : [];
  return h(
    "div",
    { class: "plan" },
    group("Languages", a.languages?.length ? a.languages : ["any"], "lang"),
    group("Subject", subject.length ? subject : ["any"], "subject"),
    group("Region", regions.length ? regions : ["anywhere"], "region"),
    group("Activity", activity, "activity"),
    group("Role", a.role && a.role !== "any" ? [a.role] : [], "role"),
    a.stars_range ? group("Stars", [a.stars_range], "stars") : null,
    group("Excluding", excluded, "exclude"),
    group("Leads", maxProspects ? [`top ${maxProspects}`] : [], "count"),
    text ? h("p", { class: "muted small" }, text) : null,
  );
}
