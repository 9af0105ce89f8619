"""Every name the action code shares with domain.yml: intents, entities, slots,
forms, actions and responses. tests/actions/test_names.py checks these against
the domain both ways, so a typo fails a test instead of passing silently."""
from __future__ import annotations

# --- intents (docs/contract.md) -------------------------------------------------
INTENT_GREET = "greet"
INTENT_GOODBYE = "goodbye"
INTENT_THANK = "thank"
INTENT_AFFIRM = "affirm"
INTENT_DENY = "deny"
INTENT_DONT_KNOW = "dont_know"
INTENT_REPORT_SHARPS_INJURY = "report_sharps_injury"
INTENT_REPORT_SPLASH = "report_splash"
INTENT_INFORM = "inform"
INTENT_CORRECT_ANSWER = "correct_answer"
INTENT_CRISIS = "crisis"
INTENT_REQUEST_HUMAN = "request_human"
INTENT_OUT_OF_SCOPE = "out_of_scope"
INTENT_RESTART = "restart"
INTENT_STOP = "stop"
INTENT_REPEAT = "repeat"
INTENT_PRIVACY = "privacy"
INTENT_BOT_CHALLENGE = "bot_challenge"
INTENT_MANAGER_FAQ = "manager_faq"
INTENT_START_REFERRAL = "start_referral"
INTENT_CHECK_REFERRAL_STATUS = "check_referral_status"
INTENT_REQUEST_CLINICIAN = "request_clinician"
INTENT_CHOOSE_SHARPS_LINE = "choose_sharps_line"
INTENT_CHOOSE_MANAGER_LINE = "choose_manager_line"
INTENT_RATE = "rate"
INTENT_ASK_REFERENCE = "ask_reference"
INTENT_NLU_FALLBACK = "nlu_fallback"  # Rasa's own, from FallbackClassifier

INTENTS = (
    INTENT_GREET, INTENT_GOODBYE, INTENT_THANK, INTENT_AFFIRM, INTENT_DENY,
    INTENT_DONT_KNOW, INTENT_REPORT_SHARPS_INJURY, INTENT_REPORT_SPLASH, INTENT_INFORM,
    INTENT_CORRECT_ANSWER, INTENT_CRISIS, INTENT_REQUEST_HUMAN, INTENT_OUT_OF_SCOPE,
    INTENT_RESTART, INTENT_STOP, INTENT_REPEAT, INTENT_PRIVACY, INTENT_BOT_CHALLENGE,
    INTENT_MANAGER_FAQ, INTENT_START_REFERRAL, INTENT_CHECK_REFERRAL_STATUS,
    INTENT_REQUEST_CLINICIAN, INTENT_CHOOSE_SHARPS_LINE, INTENT_CHOOSE_MANAGER_LINE,
    INTENT_RATE, INTENT_ASK_REFERENCE,
)

# --- entities -------------------------------------------------------------------
ENTITY_DEVICE = "device"
ENTITY_FLUID = "fluid"
ENTITY_BODY_SITE = "body_site"
ENTITY_VIRUS = "virus"
ENTITY_STAFF_ROLE = "staff_role"
ENTITY_CASE_REF = "case_ref"
ENTITY_PHONE_NUMBER = "phone_number"
ENTITY_NUMBER = "number"

ENTITIES = (
    ENTITY_DEVICE, ENTITY_FLUID, ENTITY_BODY_SITE, ENTITY_VIRUS, ENTITY_STAFF_ROLE,
    ENTITY_CASE_REF, ENTITY_PHONE_NUMBER, ENTITY_NUMBER,
)

# --- slots: conversation context (set by actions) ------------------------------
SLOT_CHANNEL = "channel"
SLOT_NUMBERED_CHOICES = "numbered_choices"
SLOT_SENDER_PHONE = "sender_phone"
SLOT_LINE = "line"
SLOT_CASE_REF = "current_case_ref"
SLOT_ANNOUNCED_URGENCY = "announced_urgency"
SLOT_PENDING_SYNC = "pending_sync"
SLOT_SAFE_ADVICE_GIVEN = "safe_advice_given"
SLOT_ADVICE_SAID = "advice_said"
SLOT_FORM_RETRIES = "form_retries"
SLOT_CALLBACK_OFFER_DECLINED = "callback_offer_declined"
SLOT_STATUS_REF = "status_ref"
SLOT_REQUESTED = "requested_slot"
SLOT_SESSION_METADATA = "session_started_metadata"
# Which yes/no question at the end of a conversation is waiting for its answer (featurized: the
# rules read it), and whether the equality questions were offered in this conversation.
SLOT_AWAITING_ANSWER = "awaiting_answer"
AWAITING_REMINDER_CONSENT = "reminder_consent"
AWAITING_EQUALITY_OFFER = "equality_offer"
AWAITING_EQUALITY_QUESTIONS = "equality_questions"
SLOT_EQUALITY_OFFERED = "equality_offered"
# set by the API on the first message after its safe answer (the bot's last reply was not seen)
METADATA_MISSED_REPLY = "missed_reply"

# --- slots: sharps_form (deciding questions first) -------------------------------
SLOT_OCCURRED_AT = "occurred_at"
SLOT_EXPOSURE_TYPE = "exposure_type"
SLOT_FLUID = "fluid"
SLOT_SOURCE_KNOWN = "source_known"
SLOT_SOURCE_BBV = "source_bbv"
SLOT_SOURCE_RISK = "source_risk"
SLOT_SHARPS_CONTINUE = "sharps_continue"
SLOT_DEVICE_KIND = "device_kind"
SLOT_DEVICE_USED = "device_used"
SLOT_DEVICE_IN_VESSEL = "device_in_vessel"
SLOT_VISIBLE_BLOOD = "visible_blood"
SLOT_INJURY_DEEP = "injury_deep"
SLOT_GLOVES = "gloves"
SLOT_HBV_STATUS = "hbv_status"
SLOT_PREGNANCY = "pregnancy"
SLOT_REPORTER_NAME = "reporter_name"
SLOT_REPORTER_ROLE = "reporter_role"
SLOT_WORKPLACE = "workplace"
SLOT_CALLBACK_PHONE = "callback_phone"
SLOT_INCIDENT_FORM_DONE = "incident_form_done"
# "Was there any blood in it?" after a low-risk fluid named without saying
SLOT_FLUID_BLOOD = "fluid_blood"
# "Shall I change it?" when a message contradicts an answer already given
SLOT_CONFIRM_CHANGE = "confirm_change"
# set by actions, never asked: a human bite; the contradiction waiting to be confirmed
# (and its words for the question); the words each volunteered fact came from
SLOT_INJURY_BITE = "injury_bite"
SLOT_PENDING_CHANGE = "pending_change"
SLOT_PENDING_CHANGE_TEXT = "pending_change_text"
SLOT_HEARD = "heard"

SHARPS_FORM_SLOTS = (
    SLOT_CONFIRM_CHANGE, SLOT_OCCURRED_AT, SLOT_EXPOSURE_TYPE, SLOT_FLUID, SLOT_FLUID_BLOOD,
    SLOT_SOURCE_KNOWN, SLOT_SOURCE_BBV,
    SLOT_SOURCE_RISK, SLOT_SHARPS_CONTINUE, SLOT_DEVICE_KIND, SLOT_DEVICE_USED,
    SLOT_DEVICE_IN_VESSEL, SLOT_VISIBLE_BLOOD, SLOT_INJURY_DEEP, SLOT_GLOVES,
    SLOT_HBV_STATUS, SLOT_PREGNANCY, SLOT_REPORTER_NAME, SLOT_REPORTER_ROLE,
    SLOT_WORKPLACE, SLOT_CALLBACK_PHONE, SLOT_INCIDENT_FORM_DONE,
)
# Questions about the sharp itself: they do not apply to a splash or skin contact.
SHARP_ONLY_SLOTS = (
    SLOT_DEVICE_KIND, SLOT_DEVICE_USED, SLOT_DEVICE_IN_VESSEL, SLOT_VISIBLE_BLOOD, SLOT_INJURY_DEEP, SLOT_GLOVES,
)
# After each of these the case is sent to the API and re-triaged at once.
SHARPS_DECIDING_SLOTS = (
    SLOT_OCCURRED_AT, SLOT_EXPOSURE_TYPE, SLOT_FLUID, SLOT_FLUID_BLOOD, SLOT_SOURCE_KNOWN, SLOT_SOURCE_BBV,
    SLOT_SOURCE_RISK, SLOT_DEVICE_USED, SLOT_VISIBLE_BLOOD, SLOT_HBV_STATUS, SLOT_PREGNANCY,
)

# --- slots: referral_form (consent gate first, confirmation last) ----------------
SLOT_REFERRAL_CONSENT = "referral_consent"
SLOT_EMPLOYEE_NAME = "employee_name"
SLOT_EMPLOYEE_ROLE = "employee_role"
SLOT_EMPLOYEE_HOURS = "employee_hours"
SLOT_REFERRAL_REASON = "referral_reason"
SLOT_REFERRAL_WORK_RELATED = "referral_work_related"
SLOT_ABSENCE_START = "absence_start"
SLOT_ABSENCE_HISTORY = "absence_history"
SLOT_TRIED = "tried"
SLOT_QUESTIONS_FOR_OH = "questions_for_oh"
SLOT_REFERRAL_COMPLEX = "referral_complex"
SLOT_ADJUSTMENTS = "adjustments"
SLOT_APPOINTMENT_TYPE = "appointment_type"
SLOT_URGENCY_REQUESTED = "urgency_requested"
SLOT_ORGANISATION_NAME = "organisation_name"
SLOT_REFERRAL_CONFIRM = "referral_confirm"

REFERRAL_FORM_SLOTS = (
    SLOT_REFERRAL_CONSENT, SLOT_EMPLOYEE_NAME, SLOT_EMPLOYEE_ROLE, SLOT_EMPLOYEE_HOURS,
    SLOT_REFERRAL_REASON, SLOT_REFERRAL_WORK_RELATED, SLOT_ABSENCE_START, SLOT_ABSENCE_HISTORY, SLOT_TRIED,
    SLOT_QUESTIONS_FOR_OH, SLOT_REFERRAL_COMPLEX, SLOT_ADJUSTMENTS, SLOT_APPOINTMENT_TYPE,
    SLOT_URGENCY_REQUESTED, SLOT_ORGANISATION_NAME, SLOT_REFERRAL_CONFIRM,
)
# Never asked: what the manager said about the employee's past self-harm, overdose or
# suicide attempt (the crisis guard's `past`), sent with the referral for a clinician.
SLOT_REFERRAL_RISK_HISTORY = "referral_risk_history"

# --- slots: small forms -----------------------------------------------------------
SLOT_CLINICIAN_QUESTION = "clinician_question"

# --- slots: equality_form (optional, after the need is met; docs/contract.md) ------------
SLOT_EQUALITY_AGE_BAND = "equality_age_band"
SLOT_EQUALITY_SEX = "equality_sex"
# The ethnic group in two steps: the broad group, then the NHS category within it (one slot
# per broad group, so each question's buttons are fixed in domain.yml).
SLOT_EQUALITY_ETHNIC_BROAD = "equality_ethnic_broad"
SLOT_EQUALITY_ETHNIC_WHITE = "equality_ethnic_white"
SLOT_EQUALITY_ETHNIC_MIXED = "equality_ethnic_mixed"
SLOT_EQUALITY_ETHNIC_ASIAN = "equality_ethnic_asian"
SLOT_EQUALITY_ETHNIC_BLACK = "equality_ethnic_black"
SLOT_EQUALITY_ETHNIC_OTHER = "equality_ethnic_other"
SLOT_EQUALITY_DISABILITY = "equality_disability"
SLOT_EQUALITY_STAFF_GROUP = "equality_staff_group"
SLOT_EQUALITY_ORGANISATION_TYPE = "equality_organisation_type"

EQUALITY_ETHNIC_SLOTS = (
    SLOT_EQUALITY_ETHNIC_WHITE, SLOT_EQUALITY_ETHNIC_MIXED, SLOT_EQUALITY_ETHNIC_ASIAN,
    SLOT_EQUALITY_ETHNIC_BLACK, SLOT_EQUALITY_ETHNIC_OTHER,
)
EQUALITY_FORM_SLOTS = (
    SLOT_EQUALITY_AGE_BAND, SLOT_EQUALITY_SEX, SLOT_EQUALITY_ETHNIC_BROAD, *EQUALITY_ETHNIC_SLOTS,
    SLOT_EQUALITY_DISABILITY, SLOT_EQUALITY_STAFF_GROUP, SLOT_EQUALITY_ORGANISATION_TYPE,
)

# --- forms --------------------------------------------------------------------------
FORM_SHARPS = "sharps_form"
FORM_REFERRAL = "referral_form"
FORM_REFERRAL_STATUS = "referral_status_form"
FORM_CLINICIAN = "clinician_form"
FORM_HANDOFF = "handoff_form"
FORM_EQUALITY = "equality_form"
FORMS = (FORM_SHARPS, FORM_REFERRAL, FORM_REFERRAL_STATUS, FORM_CLINICIAN, FORM_HANDOFF, FORM_EQUALITY)

# --- custom actions -------------------------------------------------------------------
ACTION_SESSION_START = "action_session_start"
ACTION_DEFAULT_ASK_AFFIRMATION = "action_default_ask_affirmation"
ACTION_REPEAT = "action_repeat"
ACTION_STOP = "action_stop"
ACTION_RESUME_FORM = "action_resume_form"
ACTION_RATE = "action_rate"
ACTION_CRISIS = "action_crisis"
ACTION_HANDOFF = "action_handoff"
ACTION_ASK_CALLBACK_PHONE = "action_ask_callback_phone"
ACTION_SHARPS_OPEN_CASE = "action_sharps_open_case"
ACTION_SHARPS_SUBMIT = "action_sharps_submit"
ACTION_CORRECT_ANSWER = "action_correct_answer"
ACTION_REFERRAL_SUBMIT = "action_referral_submit"
ACTION_ASK_REFERRAL_CONFIRM = "action_ask_referral_confirm"
ACTION_REFERRAL_STATUS = "action_referral_status"
ACTION_CLINICIAN_SUBMIT = "action_clinician_submit"
ACTION_SAY_REFERENCE = "action_say_reference"
ACTION_REMINDER_CONSENT = "action_reminder_consent"
ACTION_EQUALITY_REPLY = "action_equality_reply"
ACTION_EQUALITY_SUBMIT = "action_equality_submit"
ACTION_EQUALITY_LEAVE = "action_equality_leave"
# the job question's buttons (ten choices) come from the code: see actions/equality.py
ACTION_ASK_EQUALITY_STAFF_GROUP = "action_ask_equality_staff_group"
VALIDATE_SHARPS_FORM = "validate_sharps_form"
VALIDATE_REFERRAL_FORM = "validate_referral_form"
VALIDATE_REFERRAL_STATUS_FORM = "validate_referral_status_form"
VALIDATE_CLINICIAN_FORM = "validate_clinician_form"
VALIDATE_HANDOFF_FORM = "validate_handoff_form"
VALIDATE_EQUALITY_FORM = "validate_equality_form"

# Rasa's built-in actions the rules use.
ACTION_LISTEN = "action_listen"
ACTION_DEACTIVATE_LOOP = "action_deactivate_loop"
ACTION_TWO_STAGE_FALLBACK = "action_two_stage_fallback"
ACTION_RESTART = "action_restart"

CUSTOM_ACTIONS = (
    ACTION_SESSION_START, ACTION_DEFAULT_ASK_AFFIRMATION, ACTION_REPEAT, ACTION_STOP,
    ACTION_RESUME_FORM, ACTION_RATE, ACTION_CRISIS, ACTION_HANDOFF, ACTION_ASK_CALLBACK_PHONE,
    ACTION_SHARPS_OPEN_CASE, ACTION_SHARPS_SUBMIT, ACTION_CORRECT_ANSWER,
    ACTION_REFERRAL_SUBMIT, ACTION_ASK_REFERRAL_CONFIRM, ACTION_REFERRAL_STATUS,
    ACTION_CLINICIAN_SUBMIT, VALIDATE_SHARPS_FORM, VALIDATE_REFERRAL_FORM,
    VALIDATE_REFERRAL_STATUS_FORM, VALIDATE_CLINICIAN_FORM, VALIDATE_HANDOFF_FORM,
    ACTION_SAY_REFERENCE, ACTION_REMINDER_CONSENT, ACTION_EQUALITY_REPLY, ACTION_EQUALITY_SUBMIT,
    ACTION_EQUALITY_LEAVE, ACTION_ASK_EQUALITY_STAFF_GROUP, VALIDATE_EQUALITY_FORM,
)

# --- responses used by the action code ---------------------------------------------
# Data responses (custom payloads the actions read: labels live in domain.yml too).
UTTER_ANSWER_LABELS = "utter_answer_labels"
UTTER_FALLBACK_LABELS = "utter_fallback_labels"

# general
UTTER_ASK_AFFIRMATION = "utter_ask_affirmation"
UTTER_NOTHING_TO_REPEAT = "utter_nothing_to_repeat"
UTTER_STOPPED = "utter_stopped"
UTTER_STOPPED_CASE_KEPT = "utter_stopped_case_kept"
UTTER_CONTINUE_OK = "utter_continue_ok"
UTTER_ASK_RATING = "utter_ask_rating"
UTTER_RATING_THANKS = "utter_rating_thanks"
UTTER_RATING_UNREADABLE = "utter_rating_unreadable"
UTTER_NUMBER_UNCLEAR = "utter_number_unclear"
UTTER_GREET_MENU = "utter_greet_menu"
UTTER_YOUR_REFERENCE = "utter_your_reference"
UTTER_NO_REFERENCE_YET = "utter_no_reference_yet"
UTTER_MARKED_UNKNOWN = "utter_marked_unknown"
UTTER_MISSED_REPLY = "utter_missed_reply"
UTTER_REASK_PREFIX = "utter_reask_"
UTTER_ASK_PREFIX = "utter_ask_"

# sharps
UTTER_CASE_OPENED = "utter_case_opened"
UTTER_CASE_OPENED_OFFLINE = "utter_case_opened_offline"
UTTER_SHARPS_EMERGENCY = "utter_sharps_emergency"
UTTER_SHARPS_EMERGENCY_REMINDER = "utter_sharps_emergency_reminder"
UTTER_SHARPS_URGENT = "utter_sharps_urgent"
UTTER_SHARPS_URGENT_NO_NUMBER = "utter_sharps_urgent_no_number"
UTTER_SHARPS_URGENT_NOW = "utter_sharps_urgent_now"
UTTER_SHARPS_EMERGENCY_NOT_PAGED = "utter_sharps_emergency_not_paged"
UTTER_SHARPS_URGENT_NOT_PAGED = "utter_sharps_urgent_not_paged"
UTTER_CALL_BY = "utter_call_by"
UTTER_API_ADVICE_PLAIN = "utter_api_advice_plain"
UTTER_API_ADVICE_SOURCES = "utter_api_advice_sources"
UTTER_CRISIS_ALSO = "utter_crisis_also"
UTTER_CHANGE_KEPT = "utter_change_kept"
UTTER_SHARPS_ROUTINE = "utter_sharps_routine"
UTTER_API_ADVICE = "utter_api_advice"
UTTER_SHARPS_SUMMARY = "utter_sharps_summary"
UTTER_SUMMARY_CHECK = "utter_summary_check"
UTTER_INCIDENT_REMINDER = "utter_incident_reminder"
UTTER_EAP_OFFER = "utter_eap_offer"
UTTER_CORRECTION_DONE = "utter_correction_done"
UTTER_CORRECTION_UNCLEAR = "utter_correction_unclear"
UTTER_ASK_CALLBACK_PHONE = "utter_ask_callback_phone"
UTTER_ASK_CALLBACK_PHONE_CONFIRM = "utter_ask_callback_phone_confirm"

# API unreachable (safe advice)
UTTER_API_DOWN_ONCALL = "utter_api_down_oncall"
UTTER_API_DOWN_ONCALL_NO_NUMBER = "utter_api_down_oncall_no_number"
UTTER_API_DOWN_ED = "utter_api_down_ed"
UTTER_API_DOWN_KEPT = "utter_api_down_kept"
UTTER_API_SYNCED = "utter_api_synced"

# crisis
UTTER_CRISIS = "utter_crisis"
UTTER_CRISIS_PAGED = "utter_crisis_paged"
UTTER_CRISIS_NOT_PAGED = "utter_crisis_not_paged"

# handoff and clinician call-backs
UTTER_CALLBACK_NOW = "utter_callback_now"
UTTER_PERSON_PAGED = "utter_person_paged"
UTTER_PERSON_ALREADY_PAGED = "utter_person_already_paged"
UTTER_PERSON_ACCEPTED = "utter_person_accepted"
UTTER_PERSON_NOT_PAGED = "utter_person_not_paged"
UTTER_PERSON_PAGED_NO_NUMBER = "utter_person_paged_no_number"
UTTER_CALLBACK_LATER = "utter_callback_later"
UTTER_CALLBACK_QUEUED = "utter_callback_queued"
UTTER_CALLBACK_NO_NUMBER = "utter_callback_no_number"
UTTER_HANDOFF_API_DOWN = "utter_handoff_api_down"
UTTER_HANDOFF_API_DOWN_NO_NUMBER = "utter_handoff_api_down_no_number"

# manager
UTTER_REFERRAL_NO_CONSENT = "utter_referral_no_consent"
UTTER_ASK_REFERRAL_CONFIRM = "utter_ask_referral_confirm"
UTTER_REFERRAL_SENT = "utter_referral_sent"
UTTER_REFERRAL_RISK_NOTED = "utter_referral_risk_noted"
UTTER_REFERRAL_RISK_FLAGGED = "utter_referral_risk_flagged"
UTTER_ORGANISATION_UNMATCHED = "utter_organisation_unmatched"
UTTER_REFERRAL_CANCELLED = "utter_referral_cancelled"
UTTER_REFERRAL_API_DOWN = "utter_referral_api_down"
UTTER_REFERRAL_REJECTED = "utter_referral_rejected"
UTTER_REFERRAL_STATUS = "utter_referral_status"
UTTER_REFERRAL_STATUS_UNKNOWN = "utter_referral_status_unknown"
UTTER_STATUS_API_DOWN = "utter_status_api_down"
UTTER_REASK_STATUS_REF = "utter_reask_status_ref"

# after the call: reminder texts (sharps line) and the equality questions (both lines)
UTTER_ANSWER_UNCLEAR = "utter_answer_unclear"
UTTER_ASK_REMINDER_CONSENT = "utter_ask_reminder_consent"
UTTER_REMINDER_CONSENT_YES = "utter_reminder_consent_yes"
UTTER_REMINDER_CONSENT_NO_MOBILE = "utter_reminder_consent_no_mobile"
UTTER_REMINDER_CONSENT_NO = "utter_reminder_consent_no"
UTTER_REMINDER_CONSENT_HEDGE = "utter_reminder_consent_hedge"
UTTER_REMINDER_CONSENT_KEPT = "utter_reminder_consent_kept"
UTTER_REMINDER_CONSENT_NOT_SAVED = "utter_reminder_consent_not_saved"
UTTER_ASK_EQUALITY_OFFER = "utter_ask_equality_offer"
UTTER_EQUALITY_START = "utter_equality_start"
UTTER_EQUALITY_DECLINED = "utter_equality_declined"
UTTER_EQUALITY_THANKS = "utter_equality_thanks"
UTTER_EQUALITY_NOTHING = "utter_equality_nothing"
UTTER_EQUALITY_NOT_SENT = "utter_equality_not_sent"
UTTER_EQUALITY_SENT_SO_FAR = "utter_equality_sent_so_far"
UTTER_EQUALITY_REASK = "utter_equality_reask"
UTTER_EQUALITY_SKIPPED = "utter_equality_skipped"
UTTER_ASK_EQUALITY_STAFF_GROUP = "utter_ask_equality_staff_group"

# Values slots hold for "don't know" and for the yes/no questions.
UNKNOWN = "unknown"
YES = "yes"
NO = "no"
