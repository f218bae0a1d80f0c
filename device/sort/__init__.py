"""The real-time sort loop: bins file, view fusion, journal, and the loop that ties them to the rig."""
