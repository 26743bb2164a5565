//! Tests of the FHIR reader.
