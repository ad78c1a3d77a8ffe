DROP TABLE deliveries;
DROP TABLE activities;
