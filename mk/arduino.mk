# Builds one Arduino sketch with the real Arduino AVR core from Debian's arduino-core-avr and
# avr-gcc 5.4, with the flags of the core's platform.txt (so the code is what the Arduino IDE
# would produce for an Uno / Pro Mini).
#
#   make -f mk/arduino.mk SKETCH=path/to/MySketch BUILD=build/x [F_CPU=16000000L] [LIBS="Wire EEPROM ../sketch-lib"]
#
# SKETCH  folder holding NAME.ino (NAME = the folder's name) plus any extra .cpp/.c/.S files.
#         The .ino must be valid C++ (declare functions before use): we only prepend
#         `#include <Arduino.h>`, we do not generate prototypes as the IDE does.
# BUILD   output folder: BUILD/NAME.elf, BUILD/NAME.hex, objects under BUILD/obj.
# F_CPU   16000000L (Uno) or 8000000L (3.3 V Pro Mini).
# LIBS    each word is either the name of a library bundled with the core (Wire, EEPROM, SPI,
#         SoftwareSerial) or a path to a library folder (its src/ or the folder itself holds the
#         sources, Arduino 1.5 layout or flat).
# EXTRA_FLAGS  more -D flags for every compilation unit.
#
# Determinism: sources are compiled with paths relative to the repository where possible, and the
# hex only holds .text/.data, so debug info (which does hold paths) never reaches the hex.

ARDUINO_AVR ?= /usr/share/arduino/hardware/arduino/avr
MCU         ?= atmega328p
F_CPU       ?= 16000000L
BOARD       ?= AVR_UNO
ARDUINO_VER ?= 10807
VARIANT     ?= standard

ifndef SKETCH
$(error SKETCH is not set: the folder holding the .ino)
endif
ifndef BUILD
$(error BUILD is not set: the output folder)
endif

SKETCH := $(patsubst %/,%,$(SKETCH))
NAME   ?= $(notdir $(SKETCH))
INO    := $(SKETCH)/$(NAME).ino
OBJ    := $(BUILD)/obj

CC      := avr-gcc
CXX     := avr-g++
AR      := avr-gcc-ar
OBJCOPY := avr-objcopy
SIZE    := avr-size

CORE_DIR    := $(ARDUINO_AVR)/cores/arduino
VARIANT_DIR := $(ARDUINO_AVR)/variants/$(VARIANT)

# A library word resolves to a source folder: bundled name -> its src/, path -> src/ if present.
lib_dir = $(if $(findstring /,$(1)),$(1),$(ARDUINO_AVR)/libraries/$(1))
lib_src = $(if $(wildcard $(call lib_dir,$(1))/src/.),$(call lib_dir,$(1))/src,$(call lib_dir,$(1)))
LIB_SRC_DIRS := $(foreach l,$(LIBS),$(patsubst %/,%,$(call lib_src,$(l))))

INCLUDES := -I$(CORE_DIR) -I$(VARIANT_DIR) $(addprefix -I,$(LIB_SRC_DIRS)) -I$(SKETCH)

# avr-gcc 5.4 lacks DECIMAL_DIG in <float.h> as the core's Print.cpp expects it.
DEFS := -mmcu=$(MCU) -DF_CPU=$(F_CPU) -DARDUINO=$(ARDUINO_VER) -DARDUINO_$(BOARD) -DARDUINO_ARCH_AVR \
        -DDECIMAL_DIG=17 $(EXTRA_FLAGS)
# -ffile-prefix-map is not in gcc 5; debug paths never reach the hex anyway (see above).
CFLAGS   := -c -g -Os -w -std=gnu11 -ffunction-sections -fdata-sections -MMD -MP -flto -fno-fat-lto-objects
CXXFLAGS := -c -g -Os -w -std=gnu++11 -fpermissive -fno-exceptions -ffunction-sections -fdata-sections \
            -fno-threadsafe-statics -Wno-error=narrowing -MMD -MP -flto
ASFLAGS  := -c -g -x assembler-with-cpp -flto -MMD -MP
LDFLAGS  := -w -Os -g -flto -fuse-linker-plugin -Wl,--gc-sections -mmcu=$(MCU)

# Sources. A library in the 1.5 layout (src/) is compiled recursively; a flat one compiles its
# root and utility/, as the IDE does. Every list is sorted (GNU make 4.3+ sorts wildcard), so the
# link order, and so the hex, never depends on the file system's directory order.
src_exts   = $(foreach e,c cpp S,$(wildcard $(1)/*.$(e)))
src_tree   = $(sort $(shell find $(1) -type f \( -name '*.c' -o -name '*.cpp' -o -name '*.S' \) 2>/dev/null))
lib_srcs   = $(if $(filter %/src,$(1)),$(call src_tree,$(1)),$(sort $(call src_exts,$(1)) $(call src_exts,$(1)/utility)))
CORE_SRCS   := $(call src_exts,$(CORE_DIR))
SKETCH_SRCS := $(call src_exts,$(SKETCH))

# Objects: core under obj/core, each library under obj/lib/<name>, the sketch under obj/sketch;
# the sub-path is kept so utility/twi.c cannot clash with another twi.c.
lib_name   = $(notdir $(patsubst %/src,%,$(1)))
CORE_OBJS  := $(patsubst $(CORE_DIR)/%,$(OBJ)/core/%.o,$(CORE_SRCS))
define lib_rules
LIB_OBJS += $(patsubst $(1)/%,$(OBJ)/lib/$(2)/%.o,$(call lib_srcs,$(1)))
$(OBJ)/lib/$(2)/%.c.o: $(1)/%.c $$(FLAGS_STAMP) ; @mkdir -p $$(@D) && $$(CC) $$(CFLAGS) $$(DEFS) $$(INCLUDES) $$< -o $$@
$(OBJ)/lib/$(2)/%.cpp.o: $(1)/%.cpp $$(FLAGS_STAMP) ; @mkdir -p $$(@D) && $$(CXX) $$(CXXFLAGS) $$(DEFS) $$(INCLUDES) $$< -o $$@
$(OBJ)/lib/$(2)/%.S.o: $(1)/%.S $$(FLAGS_STAMP) ; @mkdir -p $$(@D) && $$(CC) $$(ASFLAGS) $$(DEFS) $$(INCLUDES) $$< -o $$@
endef
LIB_OBJS :=
SKETCH_OBJS := $(OBJ)/sketch/$(NAME).ino.cpp.o $(patsubst $(SKETCH)/%,$(OBJ)/sketch/%.o,$(SKETCH_SRCS))

ELF := $(BUILD)/$(NAME).elf
HEX := $(BUILD)/$(NAME).hex

.PHONY: all size clean
.DEFAULT_GOAL := all
all: $(HEX)

$(HEX): $(ELF)
	$(OBJCOPY) -O ihex -R .eeprom $< $@

# Every object depends on this makefile's flags: a changed F_CPU or LIBS rebuilds everything.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW   := $(MCU) $(F_CPU) $(BOARD) $(LIBS) $(EXTRA_FLAGS) $(CFLAGS) $(CXXFLAGS)
$(shell mkdir -p $(BUILD); [ "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = "$(FLAGS_NOW)" ] || echo "$(FLAGS_NOW)" > $(FLAGS_STAMP))

$(foreach d,$(LIB_SRC_DIRS),$(eval $(call lib_rules,$(d),$(call lib_name,$(d)))))

# The core goes through an archive as in the IDE, so unused core objects stay out of the link.
$(OBJ)/core.a: $(CORE_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(ELF): $(SKETCH_OBJS) $(LIB_OBJS) $(OBJ)/core.a
	$(CC) $(LDFLAGS) -o $@ $(SKETCH_OBJS) $(LIB_OBJS) $(OBJ)/core.a -L$(OBJ) -lm
	@$(SIZE) $@

size: $(ELF)
	@$(SIZE) $<

# The IDE's only preprocessing we keep: the Arduino.h include and a #line back to the .ino.
$(OBJ)/sketch/$(NAME).ino.cpp: $(INO)
	@mkdir -p $(@D) && { echo '#include <Arduino.h>'; echo '#line 1 "$(NAME).ino"'; cat $<; } > $@

$(OBJ)/sketch/$(NAME).ino.cpp.o: $(OBJ)/sketch/$(NAME).ino.cpp $(FLAGS_STAMP)
	$(CXX) $(CXXFLAGS) $(DEFS) $(INCLUDES) $< -o $@
$(OBJ)/sketch/%.c.o: $(SKETCH)/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEFS) $(INCLUDES) $< -o $@
$(OBJ)/sketch/%.cpp.o: $(SKETCH)/%.cpp $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $(DEFS) $(INCLUDES) $< -o $@
$(OBJ)/sketch/%.S.o: $(SKETCH)/%.S $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ASFLAGS) $(DEFS) $(INCLUDES) $< -o $@

$(OBJ)/core/%.c.o: $(CORE_DIR)/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEFS) $(INCLUDES) $< -o $@
$(OBJ)/core/%.cpp.o: $(CORE_DIR)/%.cpp $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $(DEFS) $(INCLUDES) $< -o $@
$(OBJ)/core/%.S.o: $(CORE_DIR)/%.S $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ASFLAGS) $(DEFS) $(INCLUDES) $< -o $@

clean:
	rm -rf $(BUILD)

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
