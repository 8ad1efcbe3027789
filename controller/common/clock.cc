#include "common/clock.h"

namespace amsha {

RealClock* RealClock::Get() {
  static RealClock clock;
  return &clock;
}

}  // namespace amsha
