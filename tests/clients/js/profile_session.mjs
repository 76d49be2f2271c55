// matrix-js-sdk's extended-profile calls (spec v1.16 / MSC4133) against the server: it decides
// from /versions whether the server has them and which prefix to use, then alice sets her time
// zone and a custom field, bob reads them (one field and the whole profile), alice deletes the
// field and bob's read of it comes back "not set" (js-sdk turns the 404 M_NOT_FOUND into
// undefined). Prints what each client observed (session_kit.mjs; test_js_sdk_profile.py asserts).
//
// Usage: node profile_session.mjs HOMESERVER_URL PASSWORD   (alice and bob must exist)

import { logIn, observed, run } from "./session_kit.mjs";

const TITLE = "org.example.job_title";

await run(async () => {
  const alice = await logIn("alice");
  const bob = await logIn("bob");
  const aliceId = alice.getUserId();
  observed.supported = await bob.doesServerSupportExtendedProfiles();
  observed.prefix = await bob.getExtendedProfileRequestPrefix();
  await alice.setExtendedProfileProperty("m.tz", "Europe/Warsaw");
  await alice.setExtendedProfileProperty(TITLE, { en: "Ward nurse", pl: "Pielęgniarka" });
  observed.tz = await bob.getExtendedProfileProperty(aliceId, "m.tz");
  observed.whole = await bob.getExtendedProfile(aliceId);
  await alice.deleteExtendedProfileProperty(TITLE);
  // A new client: the first one cached the field it read.
  const reader = await logIn("bob");
  observed.title_after_delete = (await reader.getExtendedProfileProperty(aliceId, TITLE)) ?? null;
  try {
    await bob.setExtendedProfileProperty("Not A Key", "x");
    observed.bad_key = "accepted";
  } catch (err) {
    observed.bad_key = `${err.httpStatus} ${err.errcode}`;
  }
});
