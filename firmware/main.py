# The application: read the config, pick the profile, run the scheduler.
# runtime.app never lets an exception out (see there), so this file stays trivial.
import runtime.app

runtime.app.main()
